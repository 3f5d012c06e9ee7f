"""Two session stores on one PostgreSQL database, as two server instances: seqs stay gap-free, an expected
revision has one winner, and a request id applies once whichever instance a retry reaches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from registry_server.domain.session import Event, EventActions, EventFilter, Role
from registry_server.sessions.postgres_store import PostgresSessionStore
from tests.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

Stores = tuple[PostgresSessionStore, PostgresSessionStore]


@pytest.fixture
async def two_instances(postgres_url: str) -> AsyncIterator[Stores]:  # noqa: F811
    first = await PostgresSessionStore(postgres_url).open()
    second = await PostgresSessionStore(postgres_url).open()
    yield first, second
    await first.close()
    await second.close()


def event(number: int) -> Event:
    return Event(
        f"e{number}", author="agent", timestamp=float(number), actions=EventActions({f"k{number}": number})
    )


async def test_seq_is_gap_free_across_instances(two_instances: Stores) -> None:
    a, b = two_instances
    session = await a.create_session("alice", {}, app_name="app", session_id="s")
    results = await asyncio.gather(
        *(
            store.append_event(session.key, event(i))
            for i in range(40)
            for store in (a, b)
            if i % 2 == (store is b)
        )
    )
    entries = await asyncio.gather(
        *(store.append_history(session.key, Role.USER, "hi", "") for store in (a, b) * 10)
    )
    assert sorted(r.event.seq for r in results) == list(range(1, 41))
    assert sorted(e.seq for e in entries) == list(range(1, 21))
    read, page = await b.read_session(session.key, EventFilter(), 0, 100)
    assert read.revision == 41 and read.state == {f"k{i}": i for i in range(40)}
    assert [e.seq for e in page.events] == list(range(1, 41))


async def test_one_expected_revision_has_one_winner_across_instances(two_instances: Stores) -> None:
    a, b = two_instances
    session = await a.create_session("alice", {}, app_name="app", session_id="s")
    outcomes = await asyncio.gather(
        a.append_event(session.key, event(1), expected_revision=1),
        b.append_event(session.key, event(2), expected_revision=1),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AppendedEvent", "EtagMismatchError"]


async def test_a_request_id_applies_once_across_instances(two_instances: Stores) -> None:
    a, b = two_instances
    session = await a.create_session("alice", {}, app_name="app", session_id="s")
    results = await asyncio.gather(
        *(store.append_event(session.key, event(1), request_id="retry-1") for store in (a, b, a, b))
    )
    assert len({r.event.seq for r in results}) == 1
    read, page = await a.read_session(session.key, EventFilter(), 0, 100)
    assert len(page.events) == 1 and read.revision == 2
    created = await asyncio.gather(
        *(store.create_session("bob", {}, app_name="app", request_id="create-1") for store in (a, b))
    )
    assert created[0] == created[1]
