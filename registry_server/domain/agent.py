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
    """What the registry stores about an agent; everything here survives a restart."""

    name: str
    factory: FactoryRef
    description: str = ""
    capabilities: Capabilities = Capabilities()
    tags: tuple[str, ...] = ()
    enabled: bool = True
    create_time: datetime | None = None
    update_time: datetime | None = None


class AgentState(enum.Enum):
    """Whether the factory built the agent the last time it ran."""

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
