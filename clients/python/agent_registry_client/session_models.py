"""Plain-Python views of the session messages, returned by SessionClient."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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


def _json_or(text: str, empty: Any) -> Any:
    return json.loads(text) if text else empty


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""


@dataclass(frozen=True)
class SessionEvent:
    """One ADK-shaped event: JSON values for its content, state delta and the other fields."""

    event_id: str = ""
    invocation_id: str = ""
    author: str = ""
    timestamp: float = 0.0
    content: dict[str, Any] | None = None
    partial: bool = False
    turn_complete: bool = False
    state_delta: dict[str, Any] = field(default_factory=dict)
    artifact_delta: dict[str, int] = field(default_factory=dict)
    transfer_to_agent: str = ""
    escalate: bool = False
    skip_summarization: bool = False
    actions_extra: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    def to_proto(self) -> session_pb2.Event:
        """The Event message to send."""
        return session_pb2.Event(
            id=self.event_id,
            invocation_id=self.invocation_id,
            author=self.author,
            timestamp=self.timestamp,
            content_json=_json_text(self.content),
            partial=self.partial,
            turn_complete=self.turn_complete,
            actions=session_pb2.EventActions(
                state_delta_json=_json_text(self.state_delta),
                artifact_delta=self.artifact_delta,
                transfer_to_agent=self.transfer_to_agent,
                escalate=self.escalate,
                skip_summarization=self.skip_summarization,
                extra_json=_json_text(self.actions_extra),
            ),
            extra_json=_json_text(self.extra),
        )

    @classmethod
    def from_proto(cls, message: session_pb2.Event) -> SessionEvent:
        """The event of a message the server returned."""
        actions = message.actions
        return cls(
            event_id=message.id,
            invocation_id=message.invocation_id,
            author=message.author,
            timestamp=message.timestamp,
            content=_json_or(message.content_json, None),
            partial=message.partial,
            turn_complete=message.turn_complete,
            state_delta=_json_or(actions.state_delta_json, {}),
            artifact_delta=dict(actions.artifact_delta),
            transfer_to_agent=actions.transfer_to_agent,
            escalate=actions.escalate,
            skip_summarization=actions.skip_summarization,
            actions_extra=_json_or(actions.extra_json, {}),
            extra=_json_or(message.extra_json, {}),
            seq=message.seq,
        )


@dataclass(frozen=True)
class AppendedEvent:
    """What AppendEvent returns: the event as stored and the session's revision after it."""

    event: SessionEvent
    revision: int


@dataclass(frozen=True)
class Session:
    """A session, with the page of events, history and invocations the call returned."""

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
    app_name: str = "default"
    state: dict[str, Any] | None = None
    revision: int = 0
    event_count: int = 0
    events: list[SessionEvent] = field(default_factory=list)

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
            app_name=message.app_name,
            state=_json_or(message.state_json, None),
            revision=message.revision,
            event_count=message.event_count,
            events=[SessionEvent.from_proto(event) for event in message.events],
        )


@dataclass(frozen=True)
class SessionPage:
    """One page of GetSession: the session with a page of history and invocations, and the next tokens."""

    session: Session
    next_history_page_token: str
    next_invocation_page_token: str
    next_event_page_token: str = ""


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
