"""Plain-Python views of the registry's messages, returned by the client."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format

from agentregistry.v1 import agent_pb2

CAPABILITY_LISTS = ("domains", "operations", "entities", "keywords", "examples")


def _whole_numbers_as_int(value: Any) -> Any:
    """`value` with every integral float turned back into an int (a Struct carries all numbers as doubles)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    return value


class AgentState(enum.Enum):
    """Whether the server could build the agent from its factory."""

    UNSPECIFIED = agent_pb2.AGENT_STATE_UNSPECIFIED
    AVAILABLE = agent_pb2.AGENT_STATE_AVAILABLE
    UNAVAILABLE = agent_pb2.AGENT_STATE_UNAVAILABLE


@dataclass(frozen=True)
class Factory:
    """The callable that builds an agent: `module.function(**kwargs)`."""

    module: str
    function: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_proto(self) -> agent_pb2.AgentFactory:
        """The AgentFactory message."""
        message = agent_pb2.AgentFactory(module=self.module, function=self.function)
        if self.kwargs:
            message.kwargs.update(self.kwargs)
        return message


@dataclass(frozen=True)
class A2ASkill:
    """One skill of an A2A agent card."""

    id: str
    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class A2ACard:
    """What the server kept of a remote agent's A2A card."""

    name: str
    description: str
    streaming: bool
    interface_url: str
    skills: tuple[A2ASkill, ...] = ()


@dataclass(frozen=True)
class A2AEndpoint:
    """A remote agent reached over A2A. The server returns header values masked (`Bear…`); sending a
    masked value back in an update keeps the stored one."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    card: A2ACard | None = None

    def to_proto(self) -> agent_pb2.A2AEndpoint:
        """The A2AEndpoint message (the card is output only)."""
        return agent_pb2.A2AEndpoint(url=self.url, headers=self.headers)

    @classmethod
    def from_proto(cls, message: agent_pb2.A2AEndpoint) -> A2AEndpoint:
        """The endpoint of a message the server returned."""
        card = message.card if message.HasField("card") else None
        return cls(
            url=message.url,
            headers=dict(message.headers),
            card=None
            if card is None
            else A2ACard(
                name=card.name,
                description=card.description,
                streaming=card.streaming,
                interface_url=card.interface_url,
                skills=tuple(
                    A2ASkill(s.id, s.name, s.description, tuple(s.tags), tuple(s.examples))
                    for s in card.skills
                ),
            ),
        )


@dataclass(frozen=True)
class Capabilities:
    """The terms an agent answers to, and its tie-breaking priority."""

    domains: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    priority: int = 0
    examples: tuple[str, ...] = ()

    def to_proto(self) -> agent_pb2.AgentCapabilities:
        """The AgentCapabilities message."""
        lists = {name: list(getattr(self, name)) for name in CAPABILITY_LISTS}
        return agent_pb2.AgentCapabilities(**lists, priority=self.priority)


@dataclass(frozen=True)
class Agent:
    """An agent: what to register, and what the server returns (with state, etag and times).

    Give exactly one of `factory` (built in the server) and `a2a` (a remote A2A agent).
    """

    name: str
    factory: Factory | None = None
    description: str = ""
    capabilities: Capabilities = Capabilities()
    tags: tuple[str, ...] = ()
    enabled: bool = True
    state: AgentState = AgentState.UNSPECIFIED
    state_message: str = ""
    etag: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    lease_ttl: timedelta | None = None  # renew with RegistryClient.keep_alive within each TTL
    revision: int = 0
    a2a: A2AEndpoint | None = None

    def to_proto(self) -> agent_pb2.Agent:
        """The Agent message to send; output-only fields are left out."""
        message = agent_pb2.Agent(
            name=self.name,
            description=self.description,
            capabilities=self.capabilities.to_proto(),
            tags=list(self.tags),
            enabled=self.enabled,
            etag=self.etag,
        )
        if self.factory is not None:
            message.factory.CopyFrom(self.factory.to_proto())
        if self.a2a is not None:
            message.a2a.CopyFrom(self.a2a.to_proto())
        if self.lease_ttl is not None:
            message.lease_ttl.FromTimedelta(self.lease_ttl)
        return message

    @classmethod
    def from_proto(cls, message: agent_pb2.Agent) -> Agent:
        """The Agent of a message the server returned."""
        return cls(
            name=message.name,
            description=message.description,
            factory=Factory(
                module=message.factory.module,
                function=message.factory.function,
                kwargs=_whole_numbers_as_int(json_format.MessageToDict(message.factory.kwargs)),
            )
            if message.HasField("factory")
            else None,
            a2a=A2AEndpoint.from_proto(message.a2a) if message.HasField("a2a") else None,
            capabilities=Capabilities(
                **{name: tuple(getattr(message.capabilities, name)) for name in CAPABILITY_LISTS},
                priority=message.capabilities.priority,
            ),
            tags=tuple(message.tags),
            enabled=message.enabled,
            state=AgentState(message.state),
            state_message=message.state_message,
            etag=message.etag,
            create_time=message.create_time.ToDatetime(tzinfo=UTC)
            if message.HasField("create_time")
            else None,
            update_time=message.update_time.ToDatetime(tzinfo=UTC)
            if message.HasField("update_time")
            else None,
            lease_ttl=message.lease_ttl.ToTimedelta() if message.HasField("lease_ttl") else None,
            revision=message.revision,
        )


@dataclass(frozen=True)
class AgentPage:
    """One page of ListAgents."""

    agents: list[Agent]
    next_page_token: str
    total_size: int
    revision: int = 0


class ChangeType(enum.Enum):
    """What a registry change did to its agent."""

    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True)
class AgentChange:
    """One change of the registry from WatchAgents: the agent as stored (PUT) or its name (DELETE)."""

    revision: int
    type: ChangeType
    name: str
    agent: Agent | None = None
