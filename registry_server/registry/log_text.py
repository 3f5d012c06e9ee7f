"""Text from outside (agent code, stored records, database messages) made safe for one log line."""

from __future__ import annotations

DEFAULT_LIMIT = 300


def shown(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """The text with control characters escaped and its length capped, so it can neither forge nor flood."""
    escaped = repr(text)[1:-1]
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."
