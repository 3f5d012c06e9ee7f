"""Events as stored: one JSON document per event, with the seq and timestamp in their own columns."""

from __future__ import annotations

import json
from typing import Any

from registry_server.domain.session import Event, EventActions


def event_to_json(event: Event) -> str:
    """The stored JSON document of an event (without its seq)."""
    actions = event.actions
    document: dict[str, Any] = {
        "id": event.event_id,
        "invocation_id": event.invocation_id,
        "author": event.author,
        "timestamp": event.timestamp,
        "content": event.content,
        "turn_complete": event.turn_complete,
        "actions": {
            "state_delta": actions.state_delta,
            "artifact_delta": actions.artifact_delta,
            "transfer_to_agent": actions.transfer_to_agent,
            "escalate": actions.escalate,
            "skip_summarization": actions.skip_summarization,
            "extra": actions.extra,
        },
        "extra": event.extra,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def event_from_json(seq: int, body: str) -> Event:
    """The event of a stored JSON document."""
    document = json.loads(body)
    actions = document.get("actions") or {}
    return Event(
        event_id=document["id"],
        invocation_id=document.get("invocation_id", ""),
        author=document.get("author", ""),
        timestamp=float(document.get("timestamp", 0.0)),
        content=document.get("content"),
        turn_complete=bool(document.get("turn_complete", False)),
        actions=EventActions(
            state_delta=actions.get("state_delta") or {},
            artifact_delta=actions.get("artifact_delta") or {},
            transfer_to_agent=actions.get("transfer_to_agent", ""),
            escalate=bool(actions.get("escalate", False)),
            skip_summarization=bool(actions.get("skip_summarization", False)),
            extra=actions.get("extra") or {},
        ),
        extra=document.get("extra") or {},
        seq=seq,
    )
