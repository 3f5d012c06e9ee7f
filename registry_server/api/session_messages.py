"""Converts between the Session protobuf messages and the domain's session types."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from agentregistry.v1 import session_pb2
from registry_server.domain.errors import ValidationError
from registry_server.domain.session import (
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionStatus,
)

_STATUS_TO_PROTO = {
    SessionStatus.ACTIVE: session_pb2.SESSION_STATUS_ACTIVE,
    SessionStatus.COMPLETED: session_pb2.SESSION_STATUS_COMPLETED,
    SessionStatus.ABANDONED: session_pb2.SESSION_STATUS_ABANDONED,
}
_STATUS_FROM_PROTO = {proto: status for status, proto in _STATUS_TO_PROTO.items()}
_ROLE_TO_PROTO = {
    Role.USER: session_pb2.ROLE_USER,
    Role.ASSISTANT: session_pb2.ROLE_ASSISTANT,
    Role.SYSTEM: session_pb2.ROLE_SYSTEM,
}
_ROLE_FROM_PROTO = {proto: role for role, proto in _ROLE_TO_PROTO.items()}


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
        return getattr(request, field).ToDatetime(tzinfo=UTC)
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
