"""Events as stored: one JSON array per event whose JSON-valued parts are kept as JSON text, so reading an
event back for a response unescapes strings and parses no structure."""

from __future__ import annotations

import json

from registry_server.domain.session import Event, EventActions, EventPage, EventRecord, StoredEventPage

# One encoder for every document: json.dumps() with options builds a new encoder on each call.
COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_text = COMPACT_JSON.encode


def event_to_json(event: Event) -> str:
    """The stored document of an event (without its seq)."""
    actions = event.actions
    return _text(
        [
            event.event_id,
            event.invocation_id,
            event.author,
            event.timestamp,
            event.turn_complete,
            "" if event.content is None else _text(event.content),
            _text(actions.state_delta),
            actions.artifact_delta,
            actions.transfer_to_agent,
            actions.escalate,
            actions.skip_summarization,
            _text(actions.extra) if actions.extra else "",
            _text(event.extra) if event.extra else "",
        ]
    )


def record_from_json(seq: int, body: str) -> EventRecord:
    """The record of a stored document."""
    (
        event_id,
        invocation_id,
        author,
        timestamp,
        turn_complete,
        content_json,
        state_delta_json,
        artifact_delta,
        transfer_to_agent,
        escalate,
        skip_summarization,
        actions_extra_json,
        extra_json,
    ) = json.loads(body)
    return EventRecord(
        seq,
        event_id,
        invocation_id,
        author,
        float(timestamp),
        turn_complete,
        content_json,
        state_delta_json,
        artifact_delta,
        transfer_to_agent,
        escalate,
        skip_summarization,
        actions_extra_json,
        extra_json,
    )


def event_from_record(record: EventRecord) -> Event:
    """The event of a record, its JSON parts parsed."""
    return Event(
        event_id=record.event_id,
        invocation_id=record.invocation_id,
        author=record.author,
        timestamp=record.timestamp,
        content=json.loads(record.content_json) if record.content_json else None,
        turn_complete=record.turn_complete,
        actions=EventActions(
            state_delta=json.loads(record.state_delta_json) if record.state_delta_json else {},
            artifact_delta=dict(record.artifact_delta),
            transfer_to_agent=record.transfer_to_agent,
            escalate=record.escalate,
            skip_summarization=record.skip_summarization,
            extra=json.loads(record.actions_extra_json) if record.actions_extra_json else {},
        ),
        extra=json.loads(record.extra_json) if record.extra_json else {},
        seq=record.seq,
    )


def event_from_json(seq: int, body: str) -> Event:
    """The event of a stored document."""
    return event_from_record(record_from_json(seq, body))


def records_page(stored: StoredEventPage) -> EventPage:
    """The page of records of a page of stored documents."""
    return EventPage([record_from_json(seq, body) for seq, body in stored.rows], stored.next_after_seq)
