"""Stored event documents read back as ADK Event JSON: every field an ADK event had comes back equal."""

from __future__ import annotations

import json

import pytest
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event_actions import EventActions as AdkActions
from google.genai import types

from agent_registry_client.adk import _to_registry_event
from registry_server.api.session_messages import event_from_proto
from registry_server.sessions.adk_event_json import adk_event_json, adk_events_within
from registry_server.sessions.event_codec import event_to_json

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

EVENTS = {
    "text with state": AdkEvent(
        id="e1",
        invocation_id="inv",
        author="helper",
        timestamp=1_795_322_801.9087045,
        content=types.Content(role="model", parts=[types.Part(text='line one\nline "two" ünï ✓')]),
        actions=AdkActions(state_delta={"turn": 1, "nested": {"none": None, "list": [1, None]}}),
    ),
    "image and function call": AdkEvent(
        id="e2",
        invocation_id="inv",
        author="user",
        timestamp=2.5,
        content=types.Content(
            role="user",
            parts=[
                types.Part(inline_data=types.Blob(mime_type="image/png", data=PNG)),
                types.Part(function_call=types.FunctionCall(name="lookup", args={"q": "x", "n": None})),
                types.Part(function_response=types.FunctionResponse(name="lookup", response={"ok": True})),
            ],
        ),
    ),
    "every action": AdkEvent(
        id="e3",
        invocation_id="inv2",
        author="router",
        timestamp=3.0,
        turn_complete=True,
        actions=AdkActions(
            state_delta={"user:name": "Al"},
            artifact_delta={"report.pdf": 2},
            transfer_to_agent="billing",
            escalate=True,
            skip_summarization=True,
        ),
    ),
    "extra fields and no content": AdkEvent(
        id="e4",
        invocation_id="inv3",
        author="helper",
        timestamp=4.0,
        branch="root.helper",
        custom_metadata={"trace": "abc", "missing": None},
        usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=12),
        long_running_tool_ids={"call-2", "call-1"},
    ),
}


def stored_document(event: AdkEvent) -> str:
    """The document the server stores for an ADK event sent by the client."""
    return event_to_json(event_from_proto(_to_registry_event(event).to_proto()))


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_stored_event_reads_back_as_the_adk_event_it_was(name: str) -> None:
    event = EVENTS[name]
    assert AdkEvent.model_validate_json(adk_event_json(stored_document(event))) == event


def test_a_page_is_one_json_array_in_order() -> None:
    rows = [(seq, stored_document(event)) for seq, event in enumerate(EVENTS.values(), start=1)]
    array, left_out = adk_events_within(rows, 1 << 20)
    assert [item["id"] for item in json.loads(array)] == ["e1", "e2", "e3", "e4"] and left_out is None
    assert adk_events_within([], 1 << 20) == ("[]", None)


def test_a_page_is_cut_by_the_bytes_of_its_json() -> None:
    text = AdkEvent(author="a", content=types.Content(role="user", parts=[types.Part(text="é" * 1000)]))
    rows = [(seq, stored_document(text)) for seq in range(7, 17)]
    one = len(adk_event_json(rows[0][1]).encode())
    array, left_out = adk_events_within(rows, 3 * one + 4)
    assert len(json.loads(array)) == 3 and left_out == 10 and len(array.encode()) <= 3 * one + 4
    # One event larger than the budget still goes out alone, so a page always makes progress.
    array, left_out = adk_events_within(rows, 10)
    assert len(json.loads(array)) == 1 and left_out == 8
