"""Conformance of events, scoped state, caller ids and request ids, over every session store backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    InvalidStateError,
    ValidationError,
)
from registry_server.domain.session import (
    KEPT_FOR_ROUTED_SESSION,
    Event,
    EventActions,
    EventFilter,
    Role,
    SessionFilter,
    SessionKey,
    SessionOrder,
)
from registry_server.sessions.event_codec import event_from_record
from registry_server.sessions.store import SessionStore
from tests.session_backends import BACKENDS, FakeClock

Opener = Callable[[Path, FakeClock], Awaitable[SessionStore]]


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = await BACKENDS[request.param](tmp_path, FakeClock())
    yield opened
    await opened.close()


def event(number: int, delta: dict[str, object] | None = None, **fields: object) -> Event:
    return Event(
        event_id=f"e{number}",
        invocation_id="inv1",
        author="agent",
        timestamp=1_700_000_000.0 + number,
        content={"role": "model", "parts": [{"text": f"answer {number}"}]},
        actions=EventActions(state_delta=delta or {}),
        **fields,  # type: ignore[arg-type]
    )


async def test_caller_ids_are_unique_per_app_and_user(store: SessionStore) -> None:
    await store.create_session("alice", {}, app_name="travel", session_id="s1")
    with pytest.raises(AlreadyExistsError):
        await store.create_session("alice", {}, app_name="travel", session_id="s1")
    other_user = await store.create_session("bob", {}, app_name="travel", session_id="s1")
    other_app = await store.create_session("alice", {}, app_name="food", session_id="s1")
    assert other_user.key == SessionKey("s1", "travel", "bob") and other_app.app_name == "food"


async def test_two_concurrent_creates_with_one_id_one_wins(store: SessionStore) -> None:
    outcomes = await asyncio.gather(
        *(store.create_session("alice", {}, app_name="a", session_id="same") for _ in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AlreadyExistsError", "Session"]


async def test_events_apply_state_to_three_scopes_and_drop_temp(store: SessionStore) -> None:
    session = await store.create_session(
        "alice", {}, app_name="a", session_id="s", state={"k": 1, "user:name": "Al", "temp:x": 9}
    )
    assert session.state == {"k": 1, "user:name": "Al"} and session.revision == 1
    appended = await store.append_event(
        session.key, event(1, {"k": 2, "app:theme": "dark", "temp:scratch": True}), expected_revision=1
    )
    assert appended.revision == 2 and appended.event.seq == 1
    assert appended.event.actions.state_delta == {"k": 2, "app:theme": "dark"}
    second = await store.create_session("alice", {}, app_name="a", session_id="t")
    assert second.state == {"user:name": "Al", "app:theme": "dark"}
    assert await store.get_user_state("a", "alice") == {"name": "Al"}
    read, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert read.state == {"k": 2, "user:name": "Al", "app:theme": "dark"}
    assert [e.event_id for e in page.events] == ["e1"] and event_from_record(page.events[0]) == appended.event


async def test_stale_revision_is_refused_and_changes_nothing(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    await store.append_event(session.key, event(1, {"n": 1}), expected_revision=1)
    with pytest.raises(EtagMismatchError):
        await store.append_event(session.key, event(2, {"n": 2}), expected_revision=1)
    read, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert read.state == {"n": 1} and read.revision == 2 and len(page.events) == 1


async def test_two_appends_with_one_revision_exactly_one_wins(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    outcomes = await asyncio.gather(
        *(store.append_event(session.key, event(i), expected_revision=1) for i in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AppendedEvent", "EtagMismatchError"]


async def test_64_concurrent_appenders_lose_nothing(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    results = await asyncio.gather(
        *(store.append_event(session.key, event(i, {f"k{i}": i})) for i in range(64))
    )
    assert sorted(r.event.seq for r in results) == list(range(1, 65))
    read, page = await store.read_session(session.key, EventFilter(), 0, 1000)
    assert read.revision == 65 and read.state == {f"k{i}": i for i in range(64)}
    assert [e.seq for e in page.events] == list(range(1, 65))


async def test_partial_events_are_not_stored(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    partial = Event("p1", author="agent", partial=True, actions=EventActions(state_delta={"k": 1}))
    result = await store.append_event(session.key, partial)
    assert result.revision == 1
    read, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert page.events == [] and read.state == {} and read.event_count == 0


async def test_recent_and_after_filters_read_only_what_they_return(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    for number in range(1, 31):
        await store.append_event(session.key, event(number))
    _, recent = await store.read_session(session.key, EventFilter(num_recent=5), 0, 100)
    assert [e.seq for e in recent.events] == [26, 27, 28, 29, 30] and recent.next_after_seq is None
    _, none = await store.read_session(session.key, EventFilter(num_recent=0), 0, 100)
    assert none.events == []
    _, after = await store.read_session(session.key, EventFilter(after_timestamp=1_700_000_028.0), 0, 100)
    assert [e.seq for e in after.events] == [28, 29, 30]
    _, first = await store.read_session(session.key, EventFilter(), 0, 10)
    assert [e.seq for e in first.events] == list(range(1, 11)) and first.next_after_seq == 11
    _, second = await store.read_session(session.key, EventFilter(), 11, 10)
    assert second.events[0].seq == 11


async def test_pages_are_cut_by_bytes(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    big = {"role": "user", "parts": [{"text": "x" * 100_000}]}
    for number in range(10):
        await store.append_event(session.key, Event(f"e{number}", timestamp=float(number), content=big))
        await store.append_history(session.key, Role.USER, "y" * 100_000, "")
    _, page = await store.read_session(session.key, EventFilter(), 0, 100, max_bytes=350_000)
    assert [e.seq for e in page.events] == [1, 2, 3] and page.next_after_seq == 4
    entries = await store.list_history(session.key, 0, 100, max_bytes=350_000)
    assert [e.seq for e in entries] == [1, 2, 3]


async def test_a_retried_request_id_applies_once(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", request_id="create-1")
    again = await store.create_session("alice", {}, app_name="a", request_id="create-1")
    assert again == session
    first = await store.append_event(session.key, event(1, {"n": 1}), request_id="append-1")
    retried = await store.append_event(session.key, event(1, {"n": 1}), request_id="append-1")
    assert retried == first
    read, page = await store.read_session(session.key, EventFilter(), 0, 100)
    assert len(page.events) == 1 and read.revision == 2
    with pytest.raises(ValidationError):
        await store.append_event(session.key, event(2), request_id="append-1")
    concurrent = await asyncio.gather(
        *(store.append_history(session.key, Role.USER, "hi", "", request_id="hist-1") for _ in range(5))
    )
    assert {entry.seq for entry in concurrent} == {1}
    assert (await store.get_session(session.key)).history_count == 1


async def test_list_sessions_by_update_time_with_state(store: SessionStore) -> None:
    older = await store.create_session("alice", {}, app_name="a", session_id="older", state={"k": "o"})
    await store.create_session("alice", {}, app_name="a", session_id="newer")
    await store.create_session("alice", {}, app_name="other", session_id="elsewhere")
    await store.append_event(older.key, event(1))
    listed = await store.list_sessions(
        SessionFilter(user_id="alice", app_name="a"),
        None,
        10,
        order=SessionOrder.UPDATE_TIME_DESC,
        with_state=True,
    )
    assert [s.session_id for s in listed] == ["older", "newer"]
    assert listed[0].state == {"k": "o"}


async def test_delete_removes_events_and_session_state(store: SessionStore) -> None:
    session = await store.create_session("alice", {}, app_name="a", session_id="s", state={"user:u": 1})
    await store.append_event(session.key, event(1, {"k": 1}))
    await store.delete_session(session.key)
    again = await store.create_session("alice", {}, app_name="a", session_id="s")
    assert again.state == {"user:u": 1} and again.event_count == 0


async def test_a_bare_id_names_the_default_apps_session(store: SessionStore) -> None:
    # The router's session and the ADK sessions of the agents it invoked share one id.
    routed = await store.create_session("alice", {}, session_id="shared")
    await store.create_session("alice", {}, app_name="tickets_agent", session_id="shared")
    assert (await store.get_session("shared")).key == routed.key
    await store.append_history("shared", Role.USER, "show my tickets", "")
    assert [entry.content for entry in await store.list_history(routed.key, 0, 10)] == ["show my tickets"]
    await store.delete_session("shared")
    assert (await store.get_session("shared")).app_name == "tickets_agent"


async def test_a_bare_id_of_several_agent_sessions_is_ambiguous(store: SessionStore) -> None:
    await store.create_session("alice", {}, app_name="tickets_agent", session_id="shared")
    await store.create_session("alice", {}, app_name="courses_agent", session_id="shared")
    with pytest.raises(InvalidStateError, match="several sessions"):
        await store.get_session("shared")
    assert (
        await store.get_session(SessionKey("shared", "courses_agent", "alice"))
    ).app_name == "courses_agent"


async def test_agents_sessions_go_with_their_routed_session(store: SessionStore) -> None:
    kept_for = dict([KEPT_FOR_ROUTED_SESSION])
    await store.create_session("alice", {}, session_id="r1")
    await store.create_session("alice", kept_for, app_name="tickets_agent", session_id="r1")
    await store.create_session("alice", {}, app_name="travel", session_id="r1")  # an ADK app's own: unmarked
    await store.create_session("bob", kept_for, app_name="tickets_agent", session_id="r1")  # bob has no r1
    assert await store.purge_expired(datetime(2000, 1, 1, tzinfo=UTC)) == 1
    remaining = await store.list_sessions(SessionFilter(), None, 10)
    assert sorted((s.app_name, s.user_id) for s in remaining) == [
        ("default", "alice"),
        ("tickets_agent", "alice"),
        ("travel", "alice"),
    ]
    await store.delete_session(SessionKey("r1", "default", "alice"))
    assert await store.purge_expired(datetime(2000, 1, 1, tzinfo=UTC)) == 1
    remaining = await store.list_sessions(SessionFilter(), None, 10)
    assert [(s.app_name, s.user_id) for s in remaining] == [("travel", "alice")]
