"""Checks of the ADK-shaped requests: app names, caller-chosen ids, request ids, JSON objects, events."""

from __future__ import annotations

import json
import re
from typing import Any

from registry_server.domain.errors import FieldViolation, ValidationError
from registry_server.domain.session import Event

APP_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_MAX_EVENT_BYTES = 2 * 1024 * 1024
MAX_EVENT_NAME_CHARS = 256


def validate_app_name(app_name: str, field: str = "app_name") -> None:
    """Raises ValidationError unless `app_name` is 1-128 letters, digits and `_.-`."""
    if not APP_NAME_PATTERN.fullmatch(app_name):
        raise ValidationError.single(field, "must be 1-128 letters, digits, '_', '.' or '-'")


def validate_request_id(request_id: str) -> None:
    """Raises ValidationError unless an optional request id is 1-64 of `A-Za-z0-9_-`."""
    if request_id and not REQUEST_ID_PATTERN.fullmatch(request_id):
        raise ValidationError.single("request_id", "must be 1-64 letters, digits, '_' or '-' (e.g. a UUID)")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads() with options builds a new decoder on each call.
_STRICT_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def parse_json_object(text: str, field: str, *, allow_empty: bool = True) -> dict[str, Any]:
    """The JSON object in `text` ({} for empty text when allowed); raises ValidationError."""
    if not text and allow_empty:
        return {}
    try:
        value = _STRICT_JSON.decode(text)
    except (ValueError, RecursionError):
        raise ValidationError.single(field, "is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValidationError.single(field, "must be a JSON object")
    return value


def validate_event(event: Event, size_bytes: int, max_bytes: int) -> None:
    """Checks an event's names and its size against the event limit."""
    violations = []
    if size_bytes > max_bytes:
        violations.append(FieldViolation("event", f"is {size_bytes} bytes; at most {max_bytes} are allowed"))
    for field, value in (("event.id", event.event_id), ("event.invocation_id", event.invocation_id),
                         ("event.author", event.author)):  # fmt: skip
        if len(value) > MAX_EVENT_NAME_CHARS or not value.isprintable():
            violations.append(
                FieldViolation(field, f"must be at most {MAX_EVENT_NAME_CHARS} printable characters")
            )
    if event.timestamp != event.timestamp or event.timestamp in (float("inf"), float("-inf")):
        violations.append(FieldViolation("event.timestamp", "must be a finite number of seconds"))
    if violations:
        raise ValidationError(violations)
