"""Plain-Python views of the session messages, returned by SessionClient."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from agentregistry.v1 import session_pb2, session_service_pb2


class SessionStatus(enum.Enum):
    """Lifecycle state of a session."""

    UNSPECIFIED = session_pb2.SESSION_STATUS_UNSPECIFIED
    ACTIVE = session_pb2.SESSION_STATUS_ACTIVE
    COMPLETED = session_pb2.SESSION_STATUS_COMPLETED
    ABANDONED = session_pb2.SESSION_STATUS_ABANDONED


class Role(enum.Enum):
    """Who wrote a history entry."""

    UNSPECIFIED = session_pb2.ROLE_UNSPECIFIED
    USER = session_pb2.ROLE_USER
    ASSISTANT = session_pb2.ROLE_ASSISTANT
    SYSTEM = session_pb2.ROLE_SYSTEM


def _time(message: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return message.ToDatetime(tzinfo=UTC) if present else None


@dataclass(frozen=True)
class HistoryEntry:
    """One message of a conversation."""

    seq: int
    role: Role
    content: str
    agent_name: str = ""
    create_time: datetime | None = None

    @classmethod
    def from_proto(cls, message: session_pb2.HistoryEntry) -> HistoryEntry:
        """The entry of a message the server returned."""
        return cls(
            message.seq,
            Role(message.role),
            message.content,
            message.agent_name,
            _time(message.create_time, message.HasField("create_time")),
        )


@dataclass(frozen=True)
class Invocation:
    """One agent call: to record (seq and create_time left out), or as recorded."""

    agent_name: str
    query: str
    response: str = ""
    success: bool = True
    duration_ms: int = 0
    error: str = ""
    seq: int = 0
    create_time: datetime | None = None

    def to_proto(self) -> session_pb2.Invocation:
        """The Invocation message to send."""
        return session_pb2.Invocation(
            agent_name=self.agent_name,
            query=self.query,
            response=self.response,
            success=self.success,
            duration_ms=self.duration_ms,
            error=self.error,
        )

    @classmethod
    def from_proto(cls, message: session_pb2.Invocation) -> Invocation:
        """The invocation of a message the server returned."""
        return cls(
            agent_name=message.agent_name,
            query=message.query,
            response=message.response,
            success=message.success,
            duration_ms=message.duration_ms,
            error=message.error,
            seq=message.seq,
            create_time=_time(message.create_time, message.HasField("create_time")),
        )


@dataclass(frozen=True)
class Session:
    """A session, with the page of history and invocations the call returned."""

    session_id: str
    user_id: str
    status: SessionStatus
    metadata: dict[str, str] = field(default_factory=dict)
    create_time: datetime | None = None
    update_time: datetime | None = None
    last_agent_called: str = ""
    last_query: str = ""
    last_response: str = ""
    history_count: int = 0
    invocation_count: int = 0
    history: list[HistoryEntry] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)

    @classmethod
    def from_proto(cls, message: session_pb2.Session) -> Session:
        """The session of a message the server returned."""
        return cls(
            session_id=message.session_id,
            user_id=message.user_id,
            status=SessionStatus(message.status),
            metadata=dict(message.metadata),
            create_time=_time(message.create_time, message.HasField("create_time")),
            update_time=_time(message.update_time, message.HasField("update_time")),
            last_agent_called=message.last_agent_called,
            last_query=message.last_query,
            last_response=message.last_response,
            history_count=message.history_count,
            invocation_count=message.invocation_count,
            history=[HistoryEntry.from_proto(entry) for entry in message.history],
            invocations=[Invocation.from_proto(invocation) for invocation in message.invocations],
        )


@dataclass(frozen=True)
class SessionPage:
    """One page of GetSession: the session with a page of history and invocations, and the next tokens."""

    session: Session
    next_history_page_token: str
    next_invocation_page_token: str


@dataclass(frozen=True)
class SessionList:
    """One page of ListSessions."""

    sessions: list[Session]
    next_page_token: str


@dataclass(frozen=True)
class AgentStats:
    """Invocation statistics of one agent."""

    agent_name: str
    invocations: int
    successes: int
    failures: int
    success_rate: float
    p50_duration_ms: float
    p95_duration_ms: float

    @classmethod
    def from_proto(cls, message: session_service_pb2.AgentStats) -> AgentStats:
        """The statistics of a message the server returned."""
        return cls(
            message.agent_name,
            message.invocations,
            message.successes,
            message.failures,
            message.success_rate,
            message.p50_duration_ms,
            message.p95_duration_ms,
        )
