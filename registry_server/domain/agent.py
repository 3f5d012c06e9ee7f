"""The agent resource: its stored definition and its runtime state."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FactoryRef:
    """The callable that builds an agent: `module.function(**kwargs)`."""

    module: str
    function: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        """`module.function`, for messages."""
        return f"{self.module}.{self.function}"


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
    """What the registry keeps of an A2A agent card: enough to call the agent without reading it again."""

    name: str
    description: str
    interface_url: str
    streaming: bool = False
    skills: tuple[A2ASkill, ...] = ()


@dataclass(frozen=True)
class A2AEndpoint:
    """A remote agent reached over A2A: its base URL, the headers of its own auth, and its card."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    card: A2ACard | None = None


@dataclass(frozen=True)
class Capabilities:
    """The terms an agent answers to, and its tie-breaking priority."""

    domains: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    priority: int = 0
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentSpec:
    """What the registry stores about an agent; everything here survives a restart.

    Exactly one of `factory` (built in the server) and `a2a` (reached over A2A) is set.
    """

    name: str
    factory: FactoryRef | None = None
    description: str = ""
    capabilities: Capabilities = Capabilities()
    tags: tuple[str, ...] = ()
    enabled: bool = True
    create_time: datetime | None = None
    update_time: datetime | None = None
    a2a: A2AEndpoint | None = None

    @property
    def runtime_label(self) -> str:
        """How the agent runs, for messages: `module.function` or the A2A URL."""
        if self.a2a is not None:
            return f"A2A {self.a2a.url}"
        return self.factory.qualified_name if self.factory else "no runtime"


class AgentState(enum.Enum):
    """Whether the agent can be routed to: built by its factory, or answering its health probes."""

    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class RegisteredAgent:
    """An agent as the registry holds it: spec, etag, instance or error, and the revision of its change."""

    spec: AgentSpec
    etag: str
    state: AgentState
    state_message: str = ""
    instance: object | None = None
    revision: int = 0

    @property
    def name(self) -> str:
        """The agent's name."""
        return self.spec.name

    @property
    def routable(self) -> bool:
        """True when routing may choose this agent: enabled and built."""
        return self.spec.enabled and self.state is AgentState.AVAILABLE
