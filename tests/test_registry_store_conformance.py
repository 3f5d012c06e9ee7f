"""The RegistryStore contract, run against every backend: the embedded journal and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
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
)
from tests.conftest import DEFAULTS_FILE, DEMO_AGENTS

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")
OpenStore = Callable[[], Awaitable[RegistryStore]]


def put(name: str, description: str = "", expected: str | None = None) -> PutAgent:
    spec = AgentSpec(name=name, factory=ECHO, description=description)
    return PutAgent(spec, etag_of(encode_record(spec)), expected)


@pytest.fixture(params=["journal", "postgres"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Opens (and at the end closes) handles on one backing store of the parametrised backend."""
    opened: list[RegistryStore] = []
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    async def open_one() -> RegistryStore:
        store: RegistryStore
        if url:
            store = await PostgresRegistryStore.open(url, DEFAULTS_FILE)
        else:
            store = JournalStore(tmp_path, DEFAULTS_FILE)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


async def test_a_new_store_starts_from_the_defaults(open_store: OpenStore) -> None:
    loaded = await (await open_store()).load()
    assert {agent.spec.name for agent in loaded.agents} == DEMO_AGENTS
    assert loaded.rejected == []


async def test_revisions_grow_without_gaps_and_survive_a_reopen(open_store: OpenStore) -> None:
    store = await open_store()
    start = (await store.load()).revision
    first = await store.commit(Change((put("one_agent"), put("two_agent"))))
    second = await store.commit(Change((DeleteAgent("one_agent", put("one_agent").etag),)))
    assert (first, second) == (start + 2, start + 3)
    records = await store.changes_since(start)
    assert [(r.revision, r.kind, r.name) for r in records] == [
        (start + 1, ChangeKind.PUT, "one_agent"),
        (start + 2, ChangeKind.PUT, "two_agent"),
        (start + 3, ChangeKind.DELETE, "one_agent"),
    ]
    await store.close()
    reopened = await (await open_store()).load()
    assert reopened.revision == start + 3
    names = {agent.spec.name for agent in reopened.agents}
    assert "two_agent" in names
    assert "one_agent" not in names


async def test_a_stale_etag_or_a_taken_name_changes_nothing(open_store: OpenStore) -> None:
    store = await open_store()
    await store.load()
    created = put("contested_agent")
    await store.commit(Change((created,)))
    await store.commit(Change((put("contested_agent", "v2", expected=created.etag),)))
    before = await store.changes_since(0)
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("contested_agent", "v3", expected=created.etag),)))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("fresh_agent"), put("contested_agent"))))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((DeleteAgent("contested_agent", created.etag),)))
    assert await store.changes_since(0) == before


async def test_a_request_id_is_committed_once(open_store: OpenStore) -> None:
    store = await open_store()
    await store.load()
    change = Change((put("once_agent"),), request_id="request-7", request_fingerprint="register once")
    revision = await store.commit(change)
    with pytest.raises(DuplicateRequestError) as duplicate:
        await store.commit(change)
    assert [(r.revision, r.name, r.request_fingerprint) for r in duplicate.value.records] == [
        (revision, "once_agent", "register once")
    ]
