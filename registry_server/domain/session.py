"""Sessions: a user's conversation (ADK events and scoped state, the router's history), the agents it
invoked, and the last agent's context."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_APP = "default"
APP_PREFIX = "app:"
USER_PREFIX = "user:"
TEMP_PREFIX = "temp:"
# The metadata entry marking an agent's ADK session kept for a routed session of the same user and id: it is
# purged once that routed session (app "default") is gone.
KEPT_FOR_ROUTED_SESSION = ("kept_for", "routed_session")


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
class SessionKey:
    """Names a session: (app_name, user_id, session_id). An empty app or user matches any."""

    session_id: str
    app_name: str = ""
    user_id: str = ""


SessionRef = str | SessionKey


@dataclass(frozen=True)
class Session:
    """A session's summary; events, history and invocations are read page by page."""

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
    app_name: str = DEFAULT_APP
    revision: int = 1
    event_count: int = 0
    state: dict[str, Any] | None = None  # the merged state, when it was asked for

    @property
    def key(self) -> SessionKey:
        """The full key of the session."""
        return SessionKey(self.session_id, self.app_name, self.user_id)


@dataclass(frozen=True)
class EventActions:
    """What an event does besides its content; `extra` holds every other ADK action field."""

    state_delta: dict[str, Any] = field(default_factory=dict)
    artifact_delta: dict[str, int] = field(default_factory=dict)
    transfer_to_agent: str = ""
    escalate: bool = False
    skip_summarization: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One ADK event; `content` is its JSON (None for none), `extra` every other ADK field."""

    event_id: str
    invocation_id: str = ""
    author: str = ""
    timestamp: float = 0.0
    content: dict[str, Any] | None = None
    partial: bool = False
    turn_complete: bool = False
    actions: EventActions = field(default_factory=EventActions)
    extra: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


@dataclass(frozen=True)
class EventRecord:
    """A stored event as read back, its JSON parts kept as text so that serving it parses nothing."""

    seq: int
    event_id: str
    invocation_id: str
    author: str
    timestamp: float
    turn_complete: bool
    content_json: str  # "" for no content
    state_delta_json: str
    artifact_delta: dict[str, int]
    transfer_to_agent: str
    escalate: bool
    skip_summarization: bool
    actions_extra_json: str
    extra_json: str


@dataclass(frozen=True)
class AppendedEvent:
    """The result of AppendEvent: the event as stored and the session's revision after it."""

    event: Event
    revision: int


@dataclass(frozen=True)
class EventFilter:
    """Which events GetSession returns: the most recent `num_recent` (None: all), at or after `after`."""

    num_recent: int | None = None
    after_timestamp: float | None = None


@dataclass(frozen=True)
class EventPage:
    """Events of one page, and the seq to continue at (None when there are no more)."""

    events: list[EventRecord]
    next_after_seq: int | None


@dataclass(frozen=True)
class StoredEventPage:
    """Events of one page as stored, (seq, document) pairs, and the seq to continue at (None at the end)."""

    rows: list[tuple[int, str]]
    next_after_seq: int | None


class SessionOrder(enum.Enum):
    """The order of ListSessions."""

    CREATE_TIME_DESC = "create_time"
    UPDATE_TIME_DESC = "update_time"


@dataclass(frozen=True)
class SessionFilter:
    """ListSessions filters; None means no bound. Starts are inclusive, ends exclusive."""

    user_id: str = ""
    app_name: str = ""
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
