"""Stored event documents as the JSON of Google ADK's `Event`, so a page of events reaches an ADK client as
one JSON text it validates in one pass, with no message per event on either side.

The document's JSON-valued parts (content, state delta, extra fields) are stored as JSON text, and go into
the output as they are: only the short scalar fields are encoded again.
"""

from __future__ import annotations

import json

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _members(object_json: str) -> str:
    """The members of a JSON object's text without its braces ("" for an empty or absent object)."""
    return object_json.strip()[1:-1].strip() if object_json else ""


def adk_event_json(document: str) -> str:
    """The ADK `Event` JSON of one stored document (as `event_codec.event_to_json` wrote it)."""
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
    ) = json.loads(document)
    actions = [_members(actions_extra_json), f'"state_delta":{state_delta_json or "{}"}']
    if artifact_delta:
        actions.append(f'"artifact_delta":{_encode(artifact_delta)}')
    if transfer_to_agent:
        actions.append(f'"transfer_to_agent":{_encode(transfer_to_agent)}')
    if escalate:
        actions.append('"escalate":true')
    if skip_summarization:
        actions.append('"skip_summarization":true')
    fields = [
        _members(extra_json),
        f'"id":{_encode(event_id)}',
        f'"invocation_id":{_encode(invocation_id)}',
        f'"author":{_encode(author)}',
        f'"timestamp":{float(timestamp)!r}',
        f'"actions":{{{",".join(filter(None, actions))}}}',
    ]
    if content_json:
        fields.append(f'"content":{content_json}')
    if turn_complete:
        fields.append('"turn_complete":true')
    return "{" + ",".join(filter(None, fields)) + "}"


def adk_events_within(rows: list[tuple[int, str]], max_bytes: int) -> tuple[str, int | None]:
    """The JSON array of the ADK events of the leading (seq, document) rows whose JSON fits in `max_bytes`
    (at least one row), and the seq of the first row left out (None when every row fits).

    Field names make an event's JSON somewhat longer than its document, so a page cut by stored bytes is
    cut again here by the bytes it is sent as.
    """
    events: list[str] = []
    total = 1  # the brackets, less one comma
    for seq, document in rows:
        text = adk_event_json(document)
        total += len(text.encode()) + 1
        if events and total > max_bytes:
            return "[" + ",".join(events) + "]", seq
        events.append(text)
    return "[" + ",".join(events) + "]", None
