"""Sessions: a user's conversation, the agents it invoked, and the last agent's context."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class SessionStatus(enum.Enum):
    """Lifecycle state of a session; only ACTIVE sessions accept writes."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    ABANDONED = "ABANDONED"


class Role(enum.Enum):
    """Who wrote a history entry."""

    USER = "USER"
    ASSISTANT = "ASSISTANT"
    SYSTEM = "SYSTEM"


@dataclass(frozen=True)
class HistoryEntry:
    """One message of a conversation; `seq` is its gap-free position in the session."""

    seq: int
    role: Role
    content: str
    agent_name: str
    create_time: datetime


@dataclass(frozen=True)
class NewInvocation:
    """An agent call to record."""

    agent_name: str
    query: str
    response: str = ""
    success: bool = True
    duration_ms: int = 0
    error: str = ""


@dataclass(frozen=True)
class Invocation(NewInvocation):
    """A recorded agent call, with its position and time."""

    seq: int = 0
    create_time: datetime | None = None


@dataclass(frozen=True)
class Session:
    """A session's summary; history and invocations are read page by page."""

    session_id: str
    user_id: str
    status: SessionStatus
    create_time: datetime
    update_time: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    last_agent_called: str = ""
    last_query: str = ""
    last_response: str = ""
    history_count: int = 0
    invocation_count: int = 0


@dataclass(frozen=True)
class SessionFilter:
    """ListSessions filters; None means no bound. Starts are inclusive, ends exclusive."""

    user_id: str = ""
    status: SessionStatus | None = None
    create_time_start: datetime | None = None
    create_time_end: datetime | None = None
    update_time_start: datetime | None = None
    update_time_end: datetime | None = None


@dataclass(frozen=True)
class AgentStats:
    """Invocation statistics of one agent."""

    agent_name: str
    invocations: int
    successes: int
    failures: int
    p50_duration_ms: float
    p95_duration_ms: float

    @property
    def success_rate(self) -> float:
        """successes / invocations."""
        return self.successes / self.invocations if self.invocations else 0.0
