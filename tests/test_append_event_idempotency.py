"""A retried AppendEvent is applied once, whatever the event leaves to the store, over every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry_server.domain.errors import ValidationError
from registry_server.domain.session import Event, EventActions, EventFilter
from registry_server.sessions.store import SessionStore
from tests.session_backends import BACKENDS, FakeClock


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = await BACKENDS[request.param](tmp_path, FakeClock())
    yield opened
    await opened.close()


def event_without_id(text: str, delta: dict[str, object]) -> Event:
    """An event as a plain client sends it: no id, so the store makes one."""
    return Event(
        "",
        author="agent",
        timestamp=1_700_000_000.0,
        content={"role": "model", "parts": [{"text": text}]},
        actions=EventActions(state_delta=delta),
    )


async def test_a_retried_event_without_an_id_is_stored_once(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a")
    first = await store.append_event(session.key, event_without_id("hi", {"n": 1}), request_id="append-1")
    retried = await store.append_event(session.key, event_without_id("hi", {"n": 1}), request_id="append-1")
    assert retried == first
    assert first.event.event_id, "the store gives an event without an id one"
    read, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert [stored.event_id for stored in page.events] == [first.event.event_id]
    assert read.revision == first.revision


async def test_a_request_id_reused_for_another_event_without_an_id_is_refused(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a")
    await store.append_event(session.key, event_without_id("hi", {"n": 1}), request_id="append-1")
    with pytest.raises(ValidationError):
        await store.append_event(session.key, event_without_id("bye", {"n": 2}), request_id="append-1")
    _, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert len(page.events) == 1
