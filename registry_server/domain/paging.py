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


@dataclass(frozen=True)
class PageRequest:
    """A validated page request: how many items, and the position after which the page starts."""

    size: int
    cursor: Any | None


def filter_fingerprint(filters: Mapping[str, Any]) -> str:
    """A short hash of a list call's filters, so a token cannot be replayed with other filters."""
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_page_token(cursor: Any, filters: Mapping[str, Any]) -> str:
    """Builds the opaque token for the page that starts after `cursor`."""
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
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor, fingerprint = payload["c"], payload["f"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise ValidationError.single(
            token_field, "is not a token this service issued; pass the previous next page token"
        ) from None
    if fingerprint != filter_fingerprint(filters):
        raise ValidationError.single(
            token_field, "was issued for other filters; repeat the same filters or start without a token"
        )
    return PageRequest(size=size, cursor=cursor)
