"""The PostgreSQL registry store: two stores on one database behave as two instances would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import RevisionCompactedError, StorageUnavailableError
from registry_server.postgres.migrations import Migration, SchemaTooNewError, migrate
from registry_server.registry.document import encode_record, etag_of
from registry_server.registry.postgres_schema import MIGRATIONS
from registry_server.registry.postgres_store import PostgresRegistryStore
from registry_server.registry.store import (
    Change,
    ChangeKind,
    ChangeRecord,
    DeleteAgent,
    DuplicateRequestError,
    PutAgent,
    StoreConflictError,
)
from tests.conftest import DEFAULTS_FILE, DEMO_AGENTS
from tests.postgres import PostgresServer, free_port, start_postgres

StorePair = tuple[PostgresRegistryStore, PostgresRegistryStore]
ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")


def put(name: str, description: str = "", expected: str | None = None) -> PutAgent:
    spec = AgentSpec(name=name, factory=ECHO, description=description)
    return PutAgent(spec, etag_of(encode_record(spec)), expected)


class Heard:
    """A change listener that remembers what it heard."""

    def __init__(self) -> None:
        self.records: list[ChangeRecord] = []
        self.changes: list[list[int]] = []

    async def __call__(self, records: Sequence[ChangeRecord]) -> None:
        self.records.extend(records)
        self.changes.append([record.revision for record in records])

    async def until(self, count: int, deadline_s: float = 10.0) -> list[ChangeRecord]:
        """Polls until `count` records were heard (or fails at the deadline)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while len(self.records) < count:
            assert loop.time() < end, f"heard {len(self.records)} of {count} records"
            await asyncio.sleep(0.01)
        return self.records


@pytest.fixture
async def two_stores(postgres_url: str) -> AsyncIterator[StorePair]:
    first = await PostgresRegistryStore.open(postgres_url, DEFAULTS_FILE)
    second = await PostgresRegistryStore.open(postgres_url, DEFAULTS_FILE)
    await first.load()
    await second.load()
    yield first, second
    await first.close()
    await second.close()


async def test_an_empty_database_is_seeded_once_from_the_defaults(postgres_url: str) -> None:
    stores = [await PostgresRegistryStore.open(postgres_url, DEFAULTS_FILE) for _ in range(3)]
    loaded = await asyncio.gather(*(store.load() for store in stores))
    for store in stores:
        await store.close()
    assert {agent.spec.name for agent in loaded[0].agents} == DEMO_AGENTS
    assert all(result.revision == len(DEMO_AGENTS) for result in loaded)
    assert [result.source.startswith("PostgreSQL (seeded") for result in loaded].count(True) == 1


async def test_a_change_on_one_instance_reaches_the_other_with_its_revision(two_stores: StorePair) -> None:
    first, second = two_stores
    heard_by_second, heard_by_first = Heard(), Heard()
    second.subscribe(heard_by_second)
    first.subscribe(heard_by_first)
    revision = await first.commit(Change((put("alpha_agent"), put("beta_agent"))))
    records = await heard_by_second.until(2)
    assert [(r.revision, r.kind, r.name) for r in records] == [
        (revision - 1, ChangeKind.PUT, "alpha_agent"),
        (revision, ChangeKind.PUT, "beta_agent"),
    ]
    assert heard_by_second.changes == [[revision - 1, revision]]  # one change, delivered whole
    deleted = await second.commit(Change((DeleteAgent("alpha_agent", records[0].agent.etag),)))  # type: ignore[union-attr]
    assert [(r.revision, r.kind) for r in await heard_by_first.until(1)] == [(deleted, ChangeKind.DELETE)]
    assert deleted == revision + 1
    assert [r.revision for r in heard_by_second.records] == [revision - 1, revision]  # never its own


async def test_one_etag_two_instances_exactly_one_wins(two_stores: StorePair) -> None:
    first, second = two_stores
    created = put("contested_agent")
    await first.commit(Change((created,)))
    attempts = [
        store.commit(Change((put("contested_agent", f"by {i}", expected=created.etag),)))
        for i, store in enumerate((first, second, first, second))
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [result for result in results if isinstance(result, int)]
    losers = [result for result in results if isinstance(result, StoreConflictError)]
    assert len(winners) == 1
    assert len(losers) == 3


async def test_creating_a_name_taken_meanwhile_conflicts(two_stores: StorePair) -> None:
    first, second = two_stores
    await first.commit(Change((put("taken_agent"),)))
    with pytest.raises(StoreConflictError, match="registered meanwhile"):
        await second.commit(Change((put("taken_agent"),)))


async def test_a_failed_change_writes_none_of_its_mutations(two_stores: StorePair) -> None:
    first, second = two_stores
    before = await second.changes_since(0)
    with pytest.raises(StoreConflictError):
        await first.commit(Change((put("fresh_agent"), DeleteAgent("missing_agent", "etag"))))
    assert await second.changes_since(0) == before
    assert "fresh_agent" not in {agent.spec.name for agent in (await second.load()).agents}


async def test_a_request_id_is_applied_once(two_stores: StorePair) -> None:
    first, second = two_stores
    change = Change((put("once_agent"),), request_id="req-1", request_fingerprint="register once_agent")
    revision = await first.commit(change)
    with pytest.raises(DuplicateRequestError) as duplicate:
        await second.commit(change)
    assert [(r.revision, r.request_fingerprint) for r in duplicate.value.records] == [
        (revision, "register once_agent")
    ]


async def test_a_compacted_revision_is_out_of_range(two_stores: StorePair) -> None:
    first, _ = two_stores
    for index in range(5):
        await first.commit(Change((put(f"agent_{index}"),)))
    latest = (await first.load()).revision
    assert await first.compact(keep=2) == latest - 2
    assert [r.revision for r in await first.changes_since(latest - 2)] == [latest - 1, latest]
    with pytest.raises(RevisionCompactedError, match="list the agents again"):
        await first.changes_since(latest - 3)


async def test_migrations_are_applied_once_and_a_newer_schema_is_refused(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await migrate(connection, "registry", MIGRATIONS) == len(MIGRATIONS)
        assert await migrate(connection, "registry", MIGRATIONS) == len(MIGRATIONS)
        versions = await connection.fetch("SELECT version FROM schema_version WHERE component = 'registry'")
        assert sorted(row["version"] for row in versions) == list(range(1, len(MIGRATIONS) + 1))
        with pytest.raises(SchemaTooNewError, match="upgrade the server"):
            await migrate(connection, "registry", MIGRATIONS[:1])
        with pytest.raises(ValueError, match="out of order"):
            await migrate(connection, "other", (Migration(2, "skips one", "SELECT 1"),))
    finally:
        await connection.close()


@pytest.fixture
async def own_postgres() -> AsyncIterator[PostgresServer]:
    """A server of this test's own, which it may stop and start."""
    server = await asyncio.to_thread(start_postgres)
    yield server
    await asyncio.to_thread(server.destroy)


async def test_a_stopped_database_is_unavailable_and_a_restarted_one_is_caught_up(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.url()
    first = await PostgresRegistryStore.open(url)
    second = await PostgresRegistryStore.open(url)
    await first.load()
    await second.load()
    heard = Heard()
    second.subscribe(heard)
    try:
        await asyncio.to_thread(own_postgres.stop)
        with pytest.raises(StorageUnavailableError, match="database is unavailable"):
            await first.commit(Change((put("during_outage"),)))
        await asyncio.to_thread(own_postgres.start)
        revision = await first.commit(Change((put("after_outage"),)))
        assert [r.revision for r in await heard.until(1, deadline_s=30)] == [revision]
    finally:
        await first.close()
        await second.close()


async def test_concurrent_changes_share_transactions_and_a_conflict_fails_alone(
    two_stores: StorePair,
) -> None:
    first, second = two_stores
    start = (await first.load()).revision
    taken = put("taken_agent")
    await first.commit(Change((taken,)))
    changes = [Change((put(f"batch_{i}_agent"),)) for i in range(40)]
    changes.insert(20, Change((put("taken_agent"),)))  # conflicts: the name is taken
    changes.insert(30, Change((put("pair_one_agent"), put("pair_two_agent"))))
    results = await asyncio.gather(
        *(store.commit(change) for store, change in zip([first, second] * 50, changes, strict=False)),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    assert [type(failure) for failure in failures] == [StoreConflictError]
    revisions = sorted(result for result in results if isinstance(result, int))
    assert len(revisions) == 41
    log = await first.changes_since(start)
    assert [record.revision for record in log] == list(range(start + 1, start + 1 + 43))  # no gaps
    assert revisions[-1] == start + 43


async def test_a_database_that_refuses_the_connection_is_reported_at_once(
    postgres_server: PostgresServer,
) -> None:
    with pytest.raises(StorageUnavailableError, match=r"refused the connection.*does not exist"):
        await PostgresRegistryStore.open(postgres_server.url("no_such_database"))


async def test_an_unreachable_database_is_reported_after_the_start_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("registry_server.postgres.database.START_DEADLINE_S", 0.3)
    with pytest.raises(
        StorageUnavailableError, match="cannot connect to PostgreSQL at postgresql://u:\\*\\*\\*@"
    ):
        await PostgresRegistryStore.open(f"postgresql://u:secret@127.0.0.1:{free_port()}/db")
