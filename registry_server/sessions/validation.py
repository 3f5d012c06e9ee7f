"""Checks session requests against the service's limits, reporting each bad field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from registry_server.domain.errors import FieldViolation, ValidationError
from registry_server.domain.identifiers import matches_whole
from registry_server.domain.session import NewInvocation
from registry_server.registry.validation import is_agent_name

SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_USER_ID_CHARS = 128
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 1024
DEFAULT_MAX_CONTENT_BYTES = 256 * 1024


def validate_session_id(session_id: str, field: str = "session_id") -> None:
    """Raises ValidationError unless `session_id` has the shape of an id this service makes."""
    if not matches_whole(SESSION_ID_PATTERN, session_id):
        raise ValidationError.single(field, "must be a session id returned by CreateSession")


def user_id_problem(user_id: str) -> str | None:
    """Why `user_id` is invalid, or None."""
    if not 1 <= len(user_id) <= MAX_USER_ID_CHARS:
        return f"must be 1-{MAX_USER_ID_CHARS} characters, got {len(user_id)}"
    if not user_id.isprintable():
        return "must contain printable characters only"
    return None


def validate_user_id(user_id: str, field: str = "user_id") -> None:
    """Raises ValidationError unless `user_id` is 1-128 printable characters."""
    problem = user_id_problem(user_id)
    if problem:
        raise ValidationError.single(field, problem)


def validate_new_session(user_id: str, metadata: Mapping[str, str]) -> None:
    """Checks CreateSession's user_id and metadata."""
    violations = []
    problem = user_id_problem(user_id)
    if problem:
        violations.append(FieldViolation("user_id", problem))
    if len(metadata) > MAX_METADATA_ENTRIES:
        violations.append(
            FieldViolation("metadata", f"has {len(metadata)} entries; at most {MAX_METADATA_ENTRIES}")
        )
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
            violations.append(
                FieldViolation(f"metadata[{key!r}]", f"keys must be 1-{MAX_METADATA_KEY_CHARS} characters")
            )
        if len(value) > MAX_METADATA_VALUE_CHARS:
            violations.append(
                FieldViolation(
                    f"metadata[{key!r}]", f"values must be at most {MAX_METADATA_VALUE_CHARS} characters"
                )
            )
    if violations:
        raise ValidationError(violations)


def text_problem(text: str, max_bytes: int, *, required: bool) -> str | None:
    """Why a text field is invalid (empty when required, or over the byte limit), or None."""
    if required and not text:
        return "is required and must not be empty"
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return f"is {size} bytes; at most {max_bytes} are allowed"
    return None


def agent_name_problem(agent_name: str, *, required: bool) -> str | None:
    """Why an agent reference is invalid, or None."""
    if not agent_name:
        return "is required" if required else None
    return None if is_agent_name(agent_name) else f"{agent_name!r} is not an agent name"


def validate_history_entry(content: str, agent_name: str, max_bytes: int) -> None:
    """Checks AppendHistory's content and agent_name."""
    violations = []
    problem = text_problem(content, max_bytes, required=True)
    if problem:
        violations.append(FieldViolation("content", problem))
    problem = agent_name_problem(agent_name, required=False)
    if problem:
        violations.append(FieldViolation("agent_name", problem))
    if violations:
        raise ValidationError(violations)


def validate_invocation(invocation: NewInvocation, max_bytes: int) -> None:
    """Checks RecordInvocation's invocation."""
    violations = []
    problem = agent_name_problem(invocation.agent_name, required=True)
    if problem:
        violations.append(FieldViolation("invocation.agent_name", problem))
    for field, text, required in (
        ("query", invocation.query, True),
        ("response", invocation.response, False),
        ("error", invocation.error, False),
    ):
        problem = text_problem(text, max_bytes, required=required)
        if problem:
            violations.append(FieldViolation(f"invocation.{field}", problem))
    if invocation.duration_ms < 0:
        violations.append(FieldViolation("invocation.duration_ms", "must not be negative"))
    if violations:
        raise ValidationError(violations)


def validate_time_range(
    start: datetime | None, end: datetime | None, start_field: str, end_field: str
) -> None:
    """Raises ValidationError when a range ends before it starts."""
    if start is not None and end is not None and end < start:
        raise ValidationError.single(end_field, f"is before {start_field}")
