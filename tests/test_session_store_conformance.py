"""Conformance suite of the SessionStore contract, run against every backend in tests/session_backends.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from registry_server.domain.errors import InvalidStateError, NotFoundError
from registry_server.domain.session import NewInvocation, Role, SessionFilter, SessionStatus
from registry_server.sessions.store import SessionStore
from tests.session_backends import BACKENDS, FakeClock

Opener = Callable[[Path, FakeClock], Awaitable[SessionStore]]
TRICKY_TEXTS = [
    'it\'s "quoted" and `back-ticked`',
    "'; DROP TABLE sessions; --",
    "Robert'); DELETE FROM history WHERE ('1'='1",
    "emoji 🎫📚🚀 and 日本語 and עברית and e\u0301",
    "line\nbreaks\r\nand\ttabs",
    "\u2028\u2029 separators and \ufeff BOM",
]


@pytest.fixture(params=sorted(BACKENDS))
def opener(request: pytest.FixtureRequest) -> Opener:
    return BACKENDS[request.param]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(opener: Opener, tmp_path: Path, clock: FakeClock) -> AsyncIterator[SessionStore]:
    opened = await opener(tmp_path, clock)
    yield opened
    await opened.close()


async def test_create_and_get(store: SessionStore) -> None:
    created = await store.create_session("alice", {"channel": "web"})
    fetched = await store.get_session(created.session_id, with_state=True)
    assert fetched == created
    assert fetched.status is SessionStatus.ACTIVE and fetched.metadata == {"channel": "web"}
    assert fetched.history_count == fetched.invocation_count == 0


async def test_session_ids_are_unguessable(store: SessionStore) -> None:
    ids = {(await store.create_session("alice", {})).session_id for _ in range(200)}
    assert len(ids) == 200
    assert all(len(session_id) >= 22 for session_id in ids)


async def test_history_seq_is_gap_free_and_pages(store: SessionStore) -> None:
    session = await store.create_session("alice", {})
    for index in range(25):
        entry = await store.append_history(session.session_id, Role.USER, f"message {index}", "")
        assert entry.seq == index + 1
    first = await store.list_history(session.session_id, 0, 10)
    rest = await store.list_history(session.session_id, first[-1].seq, 100)
    assert [e.seq for e in first + rest] == list(range(1, 26))
    assert [e.content for e in first + rest] == [f"message {i}" for i in range(25)]
    assert (await store.get_session(session.session_id)).history_count == 25


async def test_concurrent_appends_never_lose_or_reorder(store: SessionStore) -> None:
    sessions = [await store.create_session(f"user{i}", {}) for i in range(4)]

    async def append(index: int) -> tuple[str, int, str]:
        session_id = sessions[index % 4].session_id
        content = f"entry {index}"
        entry = await store.append_history(session_id, Role.ASSISTANT, content, "tickets_agent")
        return session_id, entry.seq, content

    acknowledged = await asyncio.gather(*(append(i) for i in range(400)))
    for session in sessions:
        stored = await store.list_history(session.session_id, 0, 1000)
        assert [e.seq for e in stored] == list(range(1, 101))
        expected = {seq: content for sid, seq, content in acknowledged if sid == session.session_id}
        assert {e.seq: e.content for e in stored} == expected


async def test_only_successful_invocations_update_the_last_agent_context(store: SessionStore) -> None:
    session = await store.create_session("alice", {})
    first = await store.record_invocation(
        session.session_id, NewInvocation("tickets_agent", "show my tickets", "3 tickets", True, 245)
    )
    second = await store.record_invocation(
        session.session_id, NewInvocation("oxygen_agent", "and courses?", "", False, 30_000, "timed out")
    )
    assert (first.seq, second.seq) == (1, 2)
    current = await store.get_session(session.session_id)
    # The failed call must not earn oxygen_agent the next turn's context boost.
    assert (current.last_agent_called, current.last_query, current.last_response) == (
        "tickets_agent",
        "show my tickets",
        "3 tickets",
    )
    assert current.invocation_count == 2
    stored = await store.list_invocations(session.session_id, 0, 10)
    assert stored == [first, second]
    assert stored[1].error == "timed out" and stored[1].success is False


async def test_set_last_agent(store: SessionStore) -> None:
    session = await store.create_session("alice", {})
    await store.record_invocation(session.session_id, NewInvocation("oxygen_agent", "q", "r"))
    await store.set_last_agent(session.session_id, "tickets_agent", "show my tickets and courses", "combined")
    current = await store.get_session(session.session_id)
    assert (current.last_agent_called, current.last_query, current.last_response) == (
        "tickets_agent",
        "show my tickets and courses",
        "combined",
    )
    with pytest.raises(NotFoundError):
        await store.set_last_agent("missing", "a_agent", "q", "r")


async def test_status_transitions(store: SessionStore) -> None:
    done = await store.create_session("alice", {})
    completed = await store.update_status(done.session_id, SessionStatus.COMPLETED)
    assert completed.status is SessionStatus.COMPLETED and completed.update_time > done.update_time
    assert (
        await store.update_status(done.session_id, SessionStatus.COMPLETED)
    ).status is SessionStatus.COMPLETED
    for illegal in (SessionStatus.ACTIVE, SessionStatus.ABANDONED):
        with pytest.raises(InvalidStateError, match="COMPLETED"):
            await store.update_status(done.session_id, illegal)
    with pytest.raises(InvalidStateError, match="only ACTIVE sessions accept writes"):
        await store.append_history(done.session_id, Role.USER, "late", "")
    with pytest.raises(InvalidStateError):
        await store.record_invocation(done.session_id, NewInvocation("tickets_agent", "q"))
    assert (await store.get_session(done.session_id)).history_count == 0
    left = await store.create_session("alice", {})
    assert (
        await store.update_status(left.session_id, SessionStatus.ABANDONED)
    ).status is SessionStatus.ABANDONED


async def test_unknown_session_is_not_found_everywhere(store: SessionStore) -> None:
    calls = [
        store.get_session("missing"),
        store.list_history("missing", 0, 10),
        store.list_invocations("missing", 0, 10),
        store.append_history("missing", Role.USER, "hi", ""),
        store.record_invocation("missing", NewInvocation("a_agent", "q")),
        store.update_status("missing", SessionStatus.COMPLETED),
        store.delete_session("missing"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match="missing"):
            await call


async def test_one_failing_write_does_not_fail_its_batch(store: SessionStore) -> None:
    session = await store.create_session("alice", {})
    results = await asyncio.gather(
        *(store.append_history(session.session_id, Role.USER, f"m{i}", "") for i in range(20)),
        store.append_history("missing", Role.USER, "lost", ""),
        return_exceptions=True,
    )
    assert isinstance(results[-1], NotFoundError)
    assert sorted(r.seq for r in results[:-1]) == list(range(1, 21))  # type: ignore[union-attr]


async def test_delete_removes_history_and_invocations(store: SessionStore) -> None:
    session = await store.create_session("alice", {})
    await store.append_history(session.session_id, Role.USER, "hi", "")
    await store.record_invocation(session.session_id, NewInvocation("tickets_agent", "q"))
    await store.delete_session(session.session_id)
    with pytest.raises(NotFoundError):
        await store.list_history(session.session_id, 0, 10)
    again = await store.create_session("alice", {})
    assert (await store.get_session(again.session_id)).history_count == 0


@pytest.mark.parametrize("text", TRICKY_TEXTS)
async def test_text_is_stored_byte_for_byte(store: SessionStore, text: str) -> None:
    session = await store.create_session(text[:128], {"note": text})
    await store.append_history(session.session_id, Role.USER, text, "")
    await store.record_invocation(
        session.session_id, NewInvocation("tickets_agent", text, text, True, 1, text)
    )
    fetched = await store.get_session(session.session_id)
    assert fetched.user_id == text[:128] and fetched.metadata == {"note": text}
    assert (await store.list_history(session.session_id, 0, 1))[0].content == text
    invocation = (await store.list_invocations(session.session_id, 0, 1))[0]
    assert (invocation.query, invocation.response, invocation.error) == (text, text, text)
    assert fetched.last_response == text


async def test_list_sessions_newest_first_with_filters_and_cursor(
    store: SessionStore, clock: FakeClock
) -> None:
    created = []
    for index in range(30):
        clock.advance(minutes=1)
        created.append(await store.create_session("alice" if index % 3 else "bob", {}))
    await store.update_status(created[4].session_id, SessionStatus.COMPLETED)

    everyone = await store.list_sessions(SessionFilter(), None, 100)
    assert [s.session_id for s in everyone] == [s.session_id for s in reversed(created)]

    alice = SessionFilter(user_id="alice")
    first = await store.list_sessions(alice, None, 7)
    second = await store.list_sessions(alice, (first[-1].create_time, first[-1].session_id), 100)
    expected = [s.session_id for s in reversed(created) if s.user_id == "alice"]
    assert [s.session_id for s in first + second] == expected

    window = SessionFilter(create_time_start=created[10].create_time, create_time_end=created[20].create_time)
    assert [s.session_id for s in await store.list_sessions(window, None, 100)] == [
        s.session_id for s in reversed(created[10:20])
    ]
    completed = await store.list_sessions(SessionFilter(status=SessionStatus.COMPLETED), None, 100)
    assert [s.session_id for s in completed] == [created[4].session_id]
    recently_updated = SessionFilter(update_time_start=created[-1].update_time)
    assert {s.session_id for s in await store.list_sessions(recently_updated, None, 100)} == {
        created[-1].session_id,
        created[4].session_id,
    }


async def test_agent_stats_by_user_and_time(store: SessionStore, clock: FakeClock) -> None:
    alice = await store.create_session("alice", {})
    bob = await store.create_session("bob", {})
    for duration in range(1, 21):
        await store.record_invocation(
            alice.session_id, NewInvocation("tickets_agent", "q", "r", duration % 5 != 0, duration * 10)
        )
    clock.advance(hours=1)
    boundary = clock.now
    await store.record_invocation(bob.session_id, NewInvocation("oxygen_agent", "q", "r", True, 7))
    stats = {s.agent_name: s for s in await store.agent_stats("", None, None)}
    tickets = stats["tickets_agent"]
    assert (tickets.invocations, tickets.successes, tickets.failures) == (20, 16, 4)
    assert tickets.success_rate == pytest.approx(0.8)
    assert (tickets.p50_duration_ms, tickets.p95_duration_ms) == (100.0, 190.0)
    assert [s.agent_name for s in await store.agent_stats("bob", None, None)] == ["oxygen_agent"]
    assert [s.agent_name for s in await store.agent_stats("", boundary, None)] == ["oxygen_agent"]
    assert [s.agent_name for s in await store.agent_stats("", None, boundary)] == ["tickets_agent"]
    assert await store.agent_stats("nobody", None, None) == []


async def test_purge_removes_exactly_the_expired_closed_sessions(
    store: SessionStore, clock: FakeClock
) -> None:
    closed_long_ago = [await store.create_session("alice", {}) for _ in range(450)]
    for index, session in enumerate(closed_long_ago):
        await store.append_history(session.session_id, Role.USER, "hello", "")
        status = SessionStatus.COMPLETED if index % 2 else SessionStatus.ABANDONED
        await store.update_status(session.session_id, status)
    active_long_ago = await store.create_session("alice", {})
    closed_at = clock.now
    clock.advance(days=10)
    closed_recently = await store.create_session("bob", {})
    await store.update_status(closed_recently.session_id, SessionStatus.COMPLETED)

    assert await store.purge_expired(closed_at - timedelta(seconds=1)) == 0
    assert await store.purge_expired(clock.now - timedelta(days=7)) == 450
    remaining = {s.session_id for s in await store.list_sessions(SessionFilter(), None, 1000)}
    assert remaining == {active_long_ago.session_id, closed_recently.session_id}
    with pytest.raises(NotFoundError):
        await store.list_history(closed_long_ago[0].session_id, 0, 10)
    assert await store.purge_expired(clock.now - timedelta(days=7)) == 0


async def test_reopen_keeps_everything(opener: Opener, tmp_path: Path, clock: FakeClock) -> None:
    store = await opener(tmp_path, clock)
    session = await store.create_session("alice", {"k": "v"})
    await store.append_history(session.session_id, Role.USER, "show my tickets", "")
    await store.record_invocation(session.session_id, NewInvocation("tickets_agent", "show my tickets", "3"))
    await store.close()
    reopened = await opener(tmp_path, clock)
    try:
        fetched = await reopened.get_session(session.session_id)
        assert fetched.last_agent_called == "tickets_agent" and fetched.metadata == {"k": "v"}
        assert [e.content for e in await reopened.list_history(session.session_id, 0, 10)] == [
            "show my tickets"
        ]
        assert len(await reopened.list_invocations(session.session_id, 0, 10)) == 1
    finally:
        await reopened.close()
