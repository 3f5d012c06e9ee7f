"""Building an agent's runtime: a client of its A2A endpoint, or what its factory makes."""

from __future__ import annotations

import logging

from registry_server.domain.agent import AgentSpec, AgentState, RegisteredAgent
from registry_server.domain.errors import FactoryError
from registry_server.registry.agent_protocol import AgentBuilder
from registry_server.registry.log_text import shown
from registry_server.registry.store import StoredAgent

log = logging.getLogger(__name__)


def runtime_of(spec: AgentSpec) -> tuple[object, object]:
    """What building the agent depends on: a change of it means a rebuild."""
    return spec.factory, spec.a2a


async def build_runtime(builder: AgentBuilder, spec: AgentSpec, *, reimport: bool = False) -> object:
    """The agent's runtime: a client of its A2A endpoint, or what its factory builds (in a worker)."""
    if spec.a2a is not None:
        # Imported on first use: a2a-sdk's client costs start-up time that registries without remote
        # agents should not pay.
        from registry_server.agents.a2a.runtime import build_a2a_agent

        return await build_a2a_agent(spec.name, spec.a2a)
    if spec.factory is None:
        raise FactoryError("", "", "the agent has neither a factory nor an a2a endpoint")
    return await builder.build(spec.factory, reimport=reimport)


async def built_agent(builder: AgentBuilder, stored: StoredAgent) -> RegisteredAgent:
    """The stored agent built: AVAILABLE with its runtime, or UNAVAILABLE with why its build failed."""
    spec, etag, revision = stored.spec, stored.etag, stored.revision
    try:
        instance = await build_runtime(builder, spec)
    except FactoryError as exc:
        log.error("agent %s is unavailable: %s", spec.name, shown(str(exc)))
        return RegisteredAgent(spec, etag, AgentState.UNAVAILABLE, exc.cause, revision=revision)
    return RegisteredAgent(spec, etag, AgentState.AVAILABLE, "", instance, revision)
