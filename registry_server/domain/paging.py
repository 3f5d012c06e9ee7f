"""Opaque page tokens shared by every paginated list (AIP-158)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry_server.domain.errors import ValidationError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Far above any token this service issues; a longer one is forged, and is refused before it is decoded.
MAX_PAGE_TOKEN_CHARS = 4096
# Cursors go to SQLite and to comparisons: integers are 64-bit, as SQLite's are.
MIN_CURSOR_INT, MAX_CURSOR_INT = -(2**63), 2**63 - 1

# Where a page starts: a name, a sequence number, or a flat list of them (e.g. a time and an id).
Cursor = str | int | list[str | int]
_NOT_ISSUED = "is not a token this service issued; pass the previous next page token"


@dataclass(frozen=True)
class PageRequest:
    """A validated page request: how many items, and the position after which the page starts."""

    size: int
    cursor: Cursor | None


def filter_fingerprint(filters: Mapping[str, Any]) -> str:
    """A short hash of a list call's filters, so a token cannot be replayed with other filters."""
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_page_token(cursor: Cursor, filters: Mapping[str, Any]) -> str:
    """Builds the opaque token for the page that starts after `cursor`."""
    if not is_cursor(cursor):
        raise TypeError(f"a page cursor is a str, a 64-bit int or a flat list of them, not {cursor!r}")
    payload = json.dumps({"c": cursor, "f": filter_fingerprint(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def parse_page_request(
    page_size: int,
    page_token: str,
    filters: Mapping[str, Any],
    *,
    default_size: int = DEFAULT_PAGE_SIZE,
    max_size: int = MAX_PAGE_SIZE,
    size_field: str = "page_size",
    token_field: str = "page_token",  # noqa: S107 - a field name, not a secret
) -> PageRequest:
    """Validates a page size and token against the filters of the call; raises ValidationError."""
    if page_size < 0:
        raise ValidationError.single(size_field, "must not be negative")
    size = min(page_size or default_size, max_size)
    if not page_token:
        return PageRequest(size=size, cursor=None)
    if len(page_token) > MAX_PAGE_TOKEN_CHARS:
        raise ValidationError.single(token_field, _NOT_ISSUED)
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_refuse_constant)
        cursor, fingerprint = payload["c"], payload["f"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, RecursionError):
        raise ValidationError.single(token_field, _NOT_ISSUED) from None
    if not is_cursor(cursor):
        raise ValidationError.single(token_field, _NOT_ISSUED)
    if fingerprint != filter_fingerprint(filters):
        raise ValidationError.single(
            token_field, "was issued for other filters; repeat the same filters or start without a token"
        )
    return PageRequest(size=size, cursor=cursor)


def is_cursor(value: object) -> bool:
    """Whether `value` has a cursor's shape: a str, a 64-bit int, or a flat list of them."""
    if isinstance(value, list):
        return all(_is_cursor_part(item) for item in value)
    return _is_cursor_part(value)


def _is_cursor_part(value: object) -> bool:
    if isinstance(value, bool):  # JSON's true and false are not positions
        return False
    if isinstance(value, int):
        return MIN_CURSOR_INT <= value <= MAX_CURSOR_INT
    return isinstance(value, str)


def _refuse_constant(name: str) -> Any:
    """Refuses NaN and Infinity, which JSON does not have and this service never writes."""
    raise ValueError(f"{name} is not JSON")
