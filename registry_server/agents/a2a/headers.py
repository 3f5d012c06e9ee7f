"""An A2A agent's auth headers are stored in full but shown masked: a few leading characters, then `…`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "…"
SHOWN_CHARS = 4
# A short secret would be mostly shown by its first characters: show none of it.
MIN_CHARS_TO_SHOW_ANY = 12


def masked_value(value: str) -> str:
    """The value as responses show it, e.g. `Bear…`."""
    shown = value[:SHOWN_CHARS] if len(value) >= MIN_CHARS_TO_SHOW_ANY else ""
    return shown + MASK


def masked(headers: Mapping[str, str]) -> dict[str, str]:
    """Every value masked."""
    return {name: masked_value(value) for name, value in headers.items()}


def unmasked(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """The headers sent, where a value that is the mask of the stored value keeps the stored value."""
    return {
        name: stored[name] if name in stored and value == masked_value(stored[name]) else value
        for name, value in sent.items()
    }


def masked_document(document: dict[str, Any]) -> dict[str, Any]:
    """A registry document (as exported) with every A2A agent's header values masked."""
    agents = {}
    for name, record in document.get("agents", {}).items():
        a2a = record.get("a2a")
        has_headers = isinstance(a2a, dict) and a2a.get("headers")
        agents[name] = (
            {**record, "a2a": {**a2a, "headers": masked(a2a["headers"])}} if has_headers else record
        )
    return {**document, "agents": agents}
