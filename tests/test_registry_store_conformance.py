"""The RegistryStore contract, run over every backend (add a harness to BACKENDS for a new one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import RevisionCompactedError
from registry_server.registry.document import encode_record, etag_of
from registry_server.registry.journal_store import JournalStore
from registry_server.registry.postgres_store import PostgresRegistryStore
from registry_server.registry.store import (
    Change,
    ChangeKind,
    DeleteAgent,
    DuplicateRequestError,
    PutAgent,
    RegistryStore,
    StoreConflictError,
    change_records,
)
from tests.postgres import PostgresServer

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")

# A harness opens a store over a place (a temp dir here; a database for a shared backend); opening it again
# over the same place is a restart.
OpenStore = Callable[[Path], Awaitable[RegistryStore]]


async def open_journal(place: Path) -> RegistryStore:
    return JournalStore(place, None, history_limit=50)


def postgres_opener(server: PostgresServer) -> OpenStore:
    """Opens the PostgreSQL store on one database per place, keeping as much history as the journal."""
    databases: dict[Path, str] = {}

    async def open_postgres(place: Path) -> RegistryStore:
        if place not in databases:
            databases[place] = server.create_database()
        return await PostgresRegistryStore.open(databases[place], keep_changes=50)

    return open_postgres


BACKENDS: dict[str, OpenStore] = {"journal": open_journal}


@pytest.fixture(params=[*sorted(BACKENDS), "postgres"])
def open_store(request: pytest.FixtureRequest) -> OpenStore:
    if request.param == "postgres":
        return postgres_opener(request.getfixturevalue("postgres_server"))
    opener: OpenStore = BACKENDS[request.param]
    return opener


@pytest.fixture
async def store(open_store: OpenStore, tmp_path: Path) -> AsyncIterator[RegistryStore]:
    opened = await open_store(tmp_path)
    await opened.load()
    yield opened
    await opened.close()


def put(name: str, expected: str | None = None, description: str = "") -> PutAgent:
    spec = AgentSpec(name, ECHO, description=description)
    return PutAgent(spec, etag_of(encode_record(spec)), expected)


async def test_revisions_grow_by_one_per_record(store: RegistryStore) -> None:
    assert await store.commit(Change((put("a_agent"),))) == 1
    assert await store.commit(Change((put("b_agent"), put("c_agent")))) == 3
    records = await store.changes_since(0)
    assert [(r.revision, r.kind, r.name) for r in records] == [
        (1, ChangeKind.PUT, "a_agent"),
        (2, ChangeKind.PUT, "b_agent"),
        (3, ChangeKind.PUT, "c_agent"),
    ]
    assert records[1].agent is not None and records[1].agent.revision == 2


async def test_etags_are_checked_atomically_with_the_write(store: RegistryStore) -> None:
    created = put("a_agent")
    await store.commit(Change((created,)))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("a_agent"),)))  # the name is taken
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("a_agent", expected="stale"),)))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((DeleteAgent("missing_agent", "x"),)))
    updated = put("a_agent", expected=created.etag, description="v2")
    assert await store.commit(Change((updated,))) == 2
    assert await store.commit(Change((DeleteAgent("a_agent", updated.etag),))) == 3


async def test_concurrent_updates_from_one_etag_let_exactly_one_win(store: RegistryStore) -> None:
    created = put("a_agent")
    await store.commit(Change((created,)))
    attempts = [
        store.commit(Change((put("a_agent", expected=created.etag, description=f"v{i}"),))) for i in range(5)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(isinstance(outcome, int) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, StoreConflictError) for outcome in outcomes) == 4


async def test_a_batch_is_all_or_nothing(store: RegistryStore) -> None:
    await store.commit(Change((put("a_agent"),)))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("b_agent"), put("a_agent"))))
    assert [record.name for record in await store.changes_since(0)] == ["a_agent"]


async def test_a_request_id_is_applied_once(store: RegistryStore) -> None:
    change = Change((put("a_agent"),), request_id="req-1", request_fingerprint="fp")
    last = await store.commit(change)
    with pytest.raises(DuplicateRequestError) as repeated:
        await store.commit(change)
    assert list(repeated.value.records) == change_records(change, last)


async def test_everything_committed_survives_a_restart(open_store: OpenStore, tmp_path: Path) -> None:
    first = await open_store(tmp_path)
    await first.load()
    await first.commit(Change((put("a_agent"), put("b_agent"))))
    await first.commit(Change((DeleteAgent("a_agent", put("a_agent").etag),), request_id="del"))
    await first.close()
    second = await open_store(tmp_path)
    loaded = await second.load()
    assert loaded.revision == 3
    assert [(agent.spec.name, agent.revision) for agent in loaded.agents] == [("b_agent", 2)]
    with pytest.raises(DuplicateRequestError):
        await second.commit(Change((DeleteAgent("a_agent", "x"),), request_id="del"))
    assert [record.revision for record in await second.changes_since(1)] == [2, 3]
    await second.close()


async def test_history_past_the_kept_window_is_compacted(store: RegistryStore) -> None:
    for index in range(60):
        await store.commit(Change((put(f"n{index}_agent"),)))
    assert await store.changes_since(60) == []
    assert [record.revision for record in await store.changes_since(55, limit=3)] == [56, 57, 58]
    with pytest.raises(RevisionCompactedError):
        await store.changes_since(0)
