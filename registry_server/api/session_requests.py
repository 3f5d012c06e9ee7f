"""Reads the session-naming and filtering fields shared by SessionService requests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message

from agentregistry.v1 import session_service_pb2 as pb
from registry_server.auth.isolation import acting_app, acting_user
from registry_server.domain.errors import ValidationError
from registry_server.domain.session import DEFAULT_APP, EventFilter, SessionKey, SessionOrder
from registry_server.sessions.event_validation import (
    parse_json_object,
    validate_app_name,
    validate_request_id,
)
from registry_server.sessions.validation import validate_session_id, validate_user_id

Sized = TypeVar("Sized", bound=Message)


class NamesSession(Protocol):
    """A request that names a session."""

    session_id: str
    app_name: str
    user_id: str


def session_key(request: NamesSession) -> SessionKey:
    """The session a request names; a `user` caller is held to its own sessions."""
    validate_session_id(request.session_id)
    if request.app_name:
        validate_app_name(request.app_name)
    if request.user_id:
        validate_user_id(request.user_id)
    return SessionKey(request.session_id, acting_app(request.app_name), acting_user(request.user_id))


def create_arguments(request: pb.CreateSessionRequest) -> dict[str, Any]:
    """The keyword arguments of SessionStore.create_session beyond the user and metadata."""
    app_name = acting_app(request.app_name) or DEFAULT_APP
    validate_app_name(app_name)
    if request.session_id:
        validate_session_id(request.session_id)
    validate_request_id(request.request_id)
    return {
        "app_name": app_name,
        "session_id": request.session_id,
        "state": parse_json_object(request.state_json, "state_json"),
        "request_id": request.request_id,
    }


def event_filter(request: pb.GetSessionRequest) -> EventFilter:
    """GetSession's event filters; raises ValidationError for a negative count or a non-finite time."""
    num_recent = request.num_recent_events if request.HasField("num_recent_events") else None
    if num_recent is not None and num_recent < 0:
        raise ValidationError.single("num_recent_events", "must not be negative")
    after = request.after_timestamp if request.HasField("after_timestamp") else None
    if after is not None and not math.isfinite(after):
        raise ValidationError.single("after_timestamp", "must be a finite number of seconds")
    return EventFilter(num_recent, after)


def session_order(order: int) -> SessionOrder:
    """The domain order of ListSessions."""
    if order == pb.SESSION_ORDER_UPDATE_TIME_DESC:
        return SessionOrder.UPDATE_TIME_DESC
    if order == pb.SESSION_ORDER_UNSPECIFIED:
        return SessionOrder.CREATE_TIME_DESC
    raise ValidationError.single("order_by", "must be SESSION_ORDER_UNSPECIFIED or _UPDATE_TIME_DESC")


def trim_to_bytes(messages: Sequence[Sized], limit: int, max_bytes: int) -> tuple[list[Sized], bool]:
    """The first messages within `limit` and `max_bytes` (at least one), and whether any were left out."""
    kept: list[Sized] = []
    total = 0
    for message in messages:
        total += message.ByteSize()
        if len(kept) >= limit or (kept and total > max_bytes):
            return kept, True
        kept.append(message)
    return kept, False
