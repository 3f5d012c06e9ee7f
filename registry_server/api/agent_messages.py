"""Converts between the Agent protobuf messages and the domain's agent types."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from google.protobuf import json_format, struct_pb2

from agentregistry.v1 import agent_pb2
from registry_server.agents.a2a.headers import masked
from registry_server.domain.agent import (
    A2AEndpoint,
    AgentSpec,
    AgentState,
    Capabilities,
    FactoryRef,
    RegisteredAgent,
)
from registry_server.domain.errors import FieldViolation, ValidationError
from registry_server.registry.validation import CAPABILITY_LISTS, NON_FINITE_PROBLEM

_STATE_TO_PROTO = {
    AgentState.AVAILABLE: agent_pb2.AGENT_STATE_AVAILABLE,
    AgentState.UNAVAILABLE: agent_pb2.AGENT_STATE_UNAVAILABLE,
}
_STATE_FROM_PROTO: dict[int, AgentState] = {proto: state for state, proto in _STATE_TO_PROTO.items()}
_ALL_CAPABILITY_PATHS = [f"capabilities.{name}" for name in (*CAPABILITY_LISTS, "priority")]
_MASK_ALIASES = {"capabilities": _ALL_CAPABILITY_PATHS, "priority": ["capabilities.priority"]}
_MASK_PATHS = {"description", "factory", "a2a", "tags", "enabled", *_ALL_CAPABILITY_PATHS}


class AgentMessageCache:
    """Agent messages built once per stored version of an agent: agents are immutable, reads are hot."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[RegisteredAgent, agent_pb2.Agent]] = {}

    def message(self, agent: RegisteredAgent) -> agent_pb2.Agent:
        """The message of `agent`; callers must not modify it."""
        cached = self._cache.get(agent.name)
        if cached is not None and cached[0] is agent:
            return cached[1]
        message = agent_to_proto(agent)
        self._cache[agent.name] = (agent, message)
        return message

    def forget(self, name: str, agent: RegisteredAgent | None) -> None:
        """Drops a deleted agent's message (a registry listener)."""
        if agent is None:
            self._cache.pop(name, None)


def agent_to_proto(agent: RegisteredAgent) -> agent_pb2.Agent:
    """The Agent message of a registered agent."""
    spec = agent.spec
    message = agent_pb2.Agent(
        name=spec.name,
        description=spec.description,
        capabilities=agent_pb2.AgentCapabilities(
            **{name: list(getattr(spec.capabilities, name)) for name in CAPABILITY_LISTS},
            priority=spec.capabilities.priority,
        ),
        tags=list(spec.tags),
        enabled=spec.enabled,
        state=_STATE_TO_PROTO[agent.state],
        state_message=agent.state_message,
        etag=agent.etag,
        revision=agent.revision,
    )
    if spec.factory is not None:
        message.factory.CopyFrom(
            agent_pb2.AgentFactory(module=spec.factory.module, function=spec.factory.function)
        )
        if spec.factory.kwargs:
            message.factory.kwargs.update(spec.factory.kwargs)
    if spec.a2a is not None:
        message.a2a.CopyFrom(endpoint_to_proto(_with_built_card(spec.a2a, agent.instance)))
    if spec.create_time:
        message.create_time.FromDatetime(spec.create_time)
    if spec.update_time:
        message.update_time.FromDatetime(spec.update_time)
    return message


def state_from_proto(state: int) -> AgentState | None:
    """The domain state of a filter value; None for AGENT_STATE_UNSPECIFIED."""
    if state == agent_pb2.AGENT_STATE_UNSPECIFIED:
        return None
    if state not in _STATE_FROM_PROTO:
        raise ValidationError.single("state", f"{state} is not an AgentState value")
    return _STATE_FROM_PROTO[state]


def spec_from_proto(message: agent_pb2.Agent, field: str) -> AgentSpec:
    """The spec of an Agent message to register; output-only fields are ignored."""
    runtime = message.WhichOneof("runtime")
    if runtime is None:
        raise ValidationError(
            [
                FieldViolation(
                    f"{field}.factory",
                    "is required: give the module and function that build the agent, or an a2a endpoint",
                )
            ]
        )
    return AgentSpec(
        name=message.name,
        description=message.description,
        factory=_factory_from_proto(message.factory, f"{field}.factory") if runtime == "factory" else None,
        a2a=endpoint_from_proto(message.a2a) if runtime == "a2a" else None,
        capabilities=_capabilities_from_proto(message.capabilities),
        tags=tuple(message.tags),
        enabled=message.enabled if message.HasField("enabled") else True,
    )


def changes_from_proto(message: agent_pb2.Agent, paths: list[str]) -> dict[str, Any]:
    """The domain changes that an UpdateAgent mask selects from `message`."""
    expanded: list[str] = []
    for index, path in enumerate(paths):
        if path not in _MASK_PATHS and path not in _MASK_ALIASES:
            raise ValidationError.single(
                f"update_mask.paths[{index}]",
                f"{path!r} cannot be updated; use one of {sorted(_MASK_PATHS | _MASK_ALIASES.keys())}",
            )
        expanded += _MASK_ALIASES.get(path, [path])
    capabilities = _capabilities_from_proto(message.capabilities)
    changes: dict[str, Any] = {}
    for path in expanded:
        if path == "factory":
            if not message.HasField("factory"):
                raise ValidationError.single("agent.factory", "is in update_mask but not set")
            changes[path] = _factory_from_proto(message.factory, "agent.factory")
            changes["a2a"] = None
        elif path == "a2a":
            if not message.HasField("a2a"):
                raise ValidationError.single("agent.a2a", "is in update_mask but not set")
            changes[path] = endpoint_from_proto(message.a2a)
            changes["factory"] = None
        elif path == "tags":
            changes[path] = tuple(message.tags)
        elif path in {"description", "enabled"}:
            changes[path] = getattr(message, path)
        else:
            changes[path] = getattr(capabilities, path.split(".", 1)[1])
    return changes


def _with_built_card(endpoint: A2AEndpoint, instance: object) -> A2AEndpoint:
    """An endpoint stored without a card (a hand-written registry file) shows the card read when built."""
    if endpoint.card is None and instance is not None:
        # Only an A2A agent's instance exists here, so a2a-sdk is loaded already.
        from registry_server.agents.a2a.card import card_summary
        from registry_server.agents.a2a.runtime import A2AAgent

        if isinstance(instance, A2AAgent):
            return replace(endpoint, card=card_summary(instance.card))
    return endpoint


def endpoint_to_proto(endpoint: A2AEndpoint) -> agent_pb2.A2AEndpoint:
    """The A2AEndpoint message, header values masked."""
    message = agent_pb2.A2AEndpoint(url=endpoint.url, headers=masked(endpoint.headers))
    card = endpoint.card
    if card is not None:
        message.card.CopyFrom(
            agent_pb2.A2AAgentCard(
                name=card.name,
                description=card.description,
                streaming=card.streaming,
                interface_url=card.interface_url,
                skills=[
                    agent_pb2.A2ASkill(
                        id=skill.id,
                        name=skill.name,
                        description=skill.description,
                        tags=list(skill.tags),
                        examples=list(skill.examples),
                    )
                    for skill in card.skills
                ],
            )
        )
    return message


def endpoint_from_proto(message: agent_pb2.A2AEndpoint) -> A2AEndpoint:
    """The endpoint of a request; its output-only card is ignored."""
    return A2AEndpoint(url=message.url, headers=dict(message.headers))


def _factory_from_proto(message: agent_pb2.AgentFactory, field: str) -> FactoryRef:
    return FactoryRef(
        module=message.module,
        function=message.function,
        kwargs=_kwargs_from_struct(message.kwargs, f"{field}.kwargs"),
    )


def _capabilities_from_proto(message: agent_pb2.AgentCapabilities) -> Capabilities:
    return Capabilities(
        **{name: tuple(getattr(message, name)) for name in CAPABILITY_LISTS}, priority=message.priority
    )


def _kwargs_from_struct(struct: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """Struct numbers are doubles; whole ones become int so factories get the types they expect."""
    try:
        kwargs = json_format.MessageToDict(struct)
    except ValueError:  # the only Struct it cannot convert holds NaN or an infinity
        raise ValidationError.single(field, NON_FINITE_PROBLEM) from None
    converted: dict[str, Any] = _whole_numbers_as_int(kwargs)
    return converted


def _whole_numbers_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    return value
