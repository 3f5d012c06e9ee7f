"""Converts between the Session protobuf messages and the domain's session types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from agentregistry.v1 import session_pb2
from registry_server.domain.errors import ValidationError
from registry_server.domain.session import (
    Event,
    EventActions,
    EventRecord,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionStatus,
)
from registry_server.sessions.event_codec import COMPACT_JSON
from registry_server.sessions.event_validation import parse_json_object

_STATUS_TO_PROTO = {
    SessionStatus.ACTIVE: session_pb2.SESSION_STATUS_ACTIVE,
    SessionStatus.COMPLETED: session_pb2.SESSION_STATUS_COMPLETED,
    SessionStatus.ABANDONED: session_pb2.SESSION_STATUS_ABANDONED,
}
# Keyed by int: a request carries any int in an enum field, known to the proto or not.
_STATUS_FROM_PROTO: dict[int, SessionStatus] = {proto: status for status, proto in _STATUS_TO_PROTO.items()}
_ROLE_TO_PROTO = {
    Role.USER: session_pb2.ROLE_USER,
    Role.ASSISTANT: session_pb2.ROLE_ASSISTANT,
    Role.SYSTEM: session_pb2.ROLE_SYSTEM,
}
_ROLE_FROM_PROTO: dict[int, Role] = {proto: role for role, proto in _ROLE_TO_PROTO.items()}


def _timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def optional_time(request: Message, field: str) -> datetime | None:
    """The datetime of the optional Timestamp `field` of `request`, or None; raises ValidationError."""
    if not request.HasField(field):
        return None
    try:
        moment: datetime = getattr(request, field).ToDatetime(tzinfo=UTC)
        return moment
    except (ValueError, OverflowError):
        raise ValidationError.single(
            field, "is not a valid time (years 1 to 9999, nanos 0 to 999,999,999)"
        ) from None


def session_to_proto(session: Session) -> session_pb2.Session:
    """The Session message of a session's summary (no history or invocations)."""
    return session_pb2.Session(
        session_id=session.session_id,
        user_id=session.user_id,
        status=_STATUS_TO_PROTO[session.status],
        metadata=session.metadata,
        create_time=_timestamp(session.create_time),
        update_time=_timestamp(session.update_time),
        last_agent_called=session.last_agent_called,
        last_query=session.last_query,
        last_response=session.last_response,
        history_count=session.history_count,
        invocation_count=session.invocation_count,
        app_name=session.app_name,
        state_json=state_json(session.state),
        revision=session.revision,
        event_count=session.event_count,
    )


def entry_to_proto(entry: HistoryEntry) -> session_pb2.HistoryEntry:
    """The HistoryEntry message."""
    return session_pb2.HistoryEntry(
        seq=entry.seq,
        role=_ROLE_TO_PROTO[entry.role],
        content=entry.content,
        agent_name=entry.agent_name,
        create_time=_timestamp(entry.create_time),
    )


def invocation_to_proto(invocation: Invocation) -> session_pb2.Invocation:
    """The Invocation message."""
    return session_pb2.Invocation(
        agent_name=invocation.agent_name,
        query=invocation.query,
        response=invocation.response,
        success=invocation.success,
        duration_ms=invocation.duration_ms,
        error=invocation.error,
        create_time=_timestamp(invocation.create_time),
        seq=invocation.seq,
    )


def invocation_from_proto(message: session_pb2.Invocation) -> NewInvocation:
    """The invocation to record; output-only fields are ignored."""
    return NewInvocation(
        agent_name=message.agent_name,
        query=message.query,
        response=message.response,
        success=message.success,
        duration_ms=message.duration_ms,
        error=message.error,
    )


def role_from_proto(role: int) -> Role:
    """The domain role; ROLE_UNSPECIFIED or an unknown value is invalid."""
    if role not in _ROLE_FROM_PROTO:
        raise ValidationError.single("role", "must be ROLE_USER, ROLE_ASSISTANT or ROLE_SYSTEM")
    return _ROLE_FROM_PROTO[role]


def status_from_proto(status: int) -> SessionStatus:
    """The domain status; SESSION_STATUS_UNSPECIFIED or an unknown value is invalid."""
    if status not in _STATUS_FROM_PROTO:
        raise ValidationError.single("status", "must be SESSION_STATUS_ACTIVE, _COMPLETED or _ABANDONED")
    return _STATUS_FROM_PROTO[status]


def status_filter_from_proto(status: int) -> SessionStatus | None:
    """A status filter: SESSION_STATUS_UNSPECIFIED means any status."""
    return None if status == session_pb2.SESSION_STATUS_UNSPECIFIED else status_from_proto(status)


def _json(value: Any) -> str:
    return "" if value is None else COMPACT_JSON.encode(value)


def state_json(state: dict[str, Any] | None) -> str:
    """The JSON text of a state, or "" when it was not read."""
    return "" if state is None else _json(state)


def event_to_proto(event: Event) -> session_pb2.Event:
    """The Event message of a stored (or partial) event."""
    actions = event.actions
    return session_pb2.Event(
        id=event.event_id,
        invocation_id=event.invocation_id,
        author=event.author,
        timestamp=event.timestamp,
        content_json=_json(event.content),
        partial=event.partial,
        turn_complete=event.turn_complete,
        actions=session_pb2.EventActions(
            state_delta_json=_json(actions.state_delta) if actions.state_delta else "",
            artifact_delta=actions.artifact_delta,
            transfer_to_agent=actions.transfer_to_agent,
            escalate=actions.escalate,
            skip_summarization=actions.skip_summarization,
            extra_json=_json(actions.extra) if actions.extra else "",
        ),
        extra_json=_json(event.extra) if event.extra else "",
        seq=event.seq,
    )


def record_to_proto(record: EventRecord) -> session_pb2.Event:
    """The Event message of a stored event, from the JSON text it was stored with."""
    return session_pb2.Event(
        id=record.event_id,
        invocation_id=record.invocation_id,
        author=record.author,
        timestamp=record.timestamp,
        content_json=record.content_json,
        turn_complete=record.turn_complete,
        actions=session_pb2.EventActions(
            state_delta_json="" if record.state_delta_json == "{}" else record.state_delta_json,
            artifact_delta=record.artifact_delta,
            transfer_to_agent=record.transfer_to_agent,
            escalate=record.escalate,
            skip_summarization=record.skip_summarization,
            extra_json=record.actions_extra_json,
        ),
        extra_json=record.extra_json,
        seq=record.seq,
    )


def event_from_proto(message: session_pb2.Event) -> Event:
    """The domain event of a request; raises ValidationError for fields that are not JSON objects."""
    actions = message.actions
    content = parse_json_object(message.content_json, "event.content_json") if message.content_json else None
    return Event(
        event_id=message.id,
        invocation_id=message.invocation_id,
        author=message.author,
        timestamp=message.timestamp,
        content=content,
        partial=message.partial,
        turn_complete=message.turn_complete,
        actions=EventActions(
            state_delta=parse_json_object(actions.state_delta_json, "event.actions.state_delta_json"),
            artifact_delta=dict(actions.artifact_delta),
            transfer_to_agent=actions.transfer_to_agent,
            escalate=actions.escalate,
            skip_summarization=actions.skip_summarization,
            extra=parse_json_object(actions.extra_json, "event.actions.extra_json"),
        ),
        extra=parse_json_object(message.extra_json, "event.extra_json"),
    )
