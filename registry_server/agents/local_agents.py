"""Builds an agent where agent code may run: calls the factory and makes a RunnableAgent of the result."""

from __future__ import annotations

from registry_server.agents.adk_detection import is_adk_agent
from registry_server.agents.session_access import SessionAccess
from registry_server.domain.agent import FactoryRef
from registry_server.registry.agent_protocol import RunnableAgent, runnable_problem
from registry_server.registry.factories import ADK_MISSING, call_factory, factory_error


async def build_local_agent(
    factory: FactoryRef, *, reimport: bool = False, sessions: SessionAccess | None = None
) -> RunnableAgent:
    """The agent `factory` builds: an ADK agent runs through a Runner (its sessions reached through
    `sessions`), anything else must be runnable."""
    built = await call_factory(factory, reimport=reimport)
    if is_adk_agent(built):
        try:
            from registry_server.agents.adk_runtime import AdkAgentRunner
        except ImportError as exc:
            raise factory_error(factory, f"returned an ADK agent, but {ADK_MISSING}") from exc
        from google.adk.agents import BaseAgent

        if not isinstance(built, BaseAgent):
            raise factory_error(
                factory, f"returned {type(built).__name__}, an ADK node that is not an agent (BaseAgent)"
            )
        return AdkAgentRunner(built, sessions)
    problem = runnable_problem(built)
    if problem:
        raise factory_error(factory, problem)
    return built  # type: ignore[return-value]
