"""Idempotent writes (AIP-155): a request id is stored with its result in the write's own transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from registry_server.domain.errors import ValidationError
from registry_server.domain.session import (
    AppendedEvent,
    Event,
    HistoryEntry,
    Invocation,
    Role,
    Session,
    SessionRef,
    SessionStatus,
)
from registry_server.sessions.event_codec import event_from_json, event_to_json

# How long a request id is remembered: a retry within this window returns the first result.
REQUEST_ID_RETENTION = timedelta(hours=24)


# Built once (json.dumps() with options builds an encoder per call); its output is json.dumps()'s with the
# same options, so fingerprints stored before stay valid.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":"))


def fingerprint(method: str, *arguments: Any) -> str:
    """A hash of a request's method and arguments, so an id reused for another request is refused."""
    canonical = _CANONICAL_JSON.encode([method, *arguments])
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_fingerprint(
    session_id: SessionRef, sent: Event, stored: Event, body: str, expected_revision: int
) -> str:
    """The fingerprint of an AppendEvent, over the event as it was sent: the id the store makes up for an
    event that has none must not make the event's retry look like another request."""
    as_sent = body if sent.event_id else event_to_json(replace(stored, event_id=""))
    return fingerprint("append_event", str(session_id), as_sent, expected_revision)


def encode_result(result: Any) -> str:
    """The JSON of a mutation's result, tagged with its type."""
    if result is None:
        return json.dumps({"kind": "none"})
    if isinstance(result, AppendedEvent):
        body = event_to_json(result.event)
        return json.dumps({"kind": "event", "seq": result.event.seq, "body": body, "rev": result.revision})
    kind = {Session: "session", HistoryEntry: "entry", Invocation: "invocation"}[type(result)]
    return json.dumps({"kind": kind, "value": asdict(result)}, default=_plain)


def decode_result(text: str) -> Any:
    """The result an earlier request stored."""
    document = json.loads(text)
    kind = document["kind"]
    if kind == "none":
        return None
    if kind == "event":
        return AppendedEvent(event_from_json(document["seq"], document["body"]), document["rev"])
    value = document["value"]
    for key in ("create_time", "update_time"):
        if isinstance(value.get(key), str):
            value[key] = datetime.fromisoformat(value[key])
    if kind == "session":
        return Session(**{**value, "status": SessionStatus(value["status"])})
    if kind == "entry":
        return HistoryEntry(**{**value, "role": Role(value["role"])})
    return Invocation(**value)


def once(
    connection: sqlite3.Connection,
    request_id: str,
    request_fingerprint: str,
    now_micros: int,
    operation: Callable[[sqlite3.Connection], Any],
) -> Any:
    """Runs `operation` unless `request_id` was applied before, in which case returns its first result."""
    if not request_id:
        return operation(connection)
    row = connection.execute(
        "SELECT fingerprint, result FROM request_log WHERE request_id = ?", (request_id,)
    ).fetchone()
    if row is not None:
        stored_fingerprint, stored = row
        if stored_fingerprint != request_fingerprint:
            raise ValidationError.single(
                "request_id", "was already used for a different request; use a new id for each request"
            )
        return decode_result(stored)
    result = operation(connection)
    connection.execute(
        "INSERT INTO request_log (request_id, fingerprint, result, create_time) VALUES (?, ?, ?, ?)",
        (request_id, request_fingerprint, encode_result(result), now_micros),
    )
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    raise TypeError(f"cannot store {type(value).__name__}")
