"""The registry store on PostgreSQL: agents, a change log numbered by the registry revision, and
LISTEN/NOTIFY so that every instance sharing the database hears of every other instance's changes.

One row (`registry_state`) holds the revision. Each commit locks it first, so commits are serialised
across instances, revisions follow commit order with no gaps, and every etag check sees every change
committed before it. The commit's NOTIFY carries the new revision; each instance then reads the log
after the last revision it has seen and hands the other instances' changes to its listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import yaml

from registry_server.domain.agent import AgentSpec
from registry_server.domain.errors import AlreadyExistsError, RevisionCompactedError
from registry_server.postgres.database import Connection, create_pool, unavailable_on_connection_loss
from registry_server.postgres.migrations import migrate
from registry_server.postgres.notifications import NotificationListener
from registry_server.registry.document import DocumentError, encode_record, etag_of, parse_document
from registry_server.registry.postgres_group_commit import GroupCommitter
from registry_server.registry.postgres_schema import MIGRATIONS
from registry_server.registry.postgres_writes import COMPACT, TAKE_REVISIONS, write_change
from registry_server.registry.store import (
    Change,
    ChangeKind,
    ChangeListener,
    ChangeRecord,
    DuplicateRequestError,
    LoadResult,
    Mutation,
    PutAgent,
    RejectedRecord,
    StoreConflictError,
    StoredAgent,
)

log = logging.getLogger(__name__)

CHANGES_CHANNEL = "agent_registry_changes"
RECENT_CHANGES_LOADED = 1000
KEEP_CHANGES = 10_000
ORIGIN = "PostgreSQL table agents"

SELECT_CHANGES = (
    "SELECT revision, change_last, kind, name, record, etag, request_id, request_fingerprint, origin "
    "FROM agent_changes "
)
RECENT_CHANGES = SELECT_CHANGES + "ORDER BY revision DESC LIMIT $1"
CHANGES_OF_REQUEST = SELECT_CHANGES + "WHERE request_id = $1 ORDER BY revision"
CHANGES_AFTER = SELECT_CHANGES + "WHERE revision > $1 ORDER BY revision LIMIT $2"
CHANGES_BETWEEN = SELECT_CHANGES + "WHERE revision > $1 AND revision <= $2 ORDER BY revision"


class PostgresRegistryStore:
    """RegistryStore on PostgreSQL, shared by any number of instances."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        defaults_file: Path | None = None,
        keep_changes: int = KEEP_CHANGES,
    ) -> None:
        self.pool = pool
        self._keep_changes = keep_changes
        self.url = url
        self._defaults_file = defaults_file
        self._instance = uuid.uuid4().hex
        self._listeners: list[ChangeListener] = []
        self._seen = 0
        self._loaded = False
        self._wake = asyncio.Event()
        self._notifications = NotificationListener(
            url, [CHANGES_CHANNEL], self._on_notification, self._catch_up
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.caught_up = asyncio.Condition()
        self._committer = GroupCommitter(pool, self._commit_in)

    @classmethod
    async def open(
        cls, url: str, defaults_file: Path | None = None, keep_changes: int = KEEP_CHANGES
    ) -> PostgresRegistryStore:
        """Connects, applies the registry's schema migrations and returns the store.

        The change log keeps the last `keep_changes` revisions (for watches and request ids).
        """
        pool = await create_pool(url)
        try:
            async with pool.acquire() as connection:
                await migrate(connection, "registry", MIGRATIONS)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url, defaults_file, keep_changes)

    @property
    def seen_revision(self) -> int:
        """The highest revision this instance has applied (its own commits and the others' it heard of)."""
        return self._seen

    async def load(self) -> LoadResult:
        """Reads every agent and the recent change log in one snapshot; seeds defaults into an empty store."""
        with unavailable_on_connection_loss("loading the registry"):
            async with self.pool.acquire() as connection:
                source = await self._seed_if_new(connection)
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    revision = await connection.fetchval("SELECT revision FROM registry_state")
                    rows = await connection.fetch("SELECT name, record, etag, revision FROM agents")
                    recent = await connection.fetch(
                        RECENT_CHANGES,
                        RECENT_CHANGES_LOADED,
                    )
        agents: list[StoredAgent] = []
        rejected: list[RejectedRecord] = []
        for row in rows:
            try:
                agents.append(StoredAgent(_spec(row["name"], row["record"]), row["etag"], row["revision"]))
            except DocumentError as error:
                rejected.append(RejectedRecord(row["name"], str(error), row["record"], ORIGIN))
        self._seen = max(self._seen, revision)
        self._loaded = True
        self._start_listening()
        records = [_change_record(row) for row in reversed(recent)]
        return LoadResult(agents, revision, source, rejected, records)

    async def _seed_if_new(self, connection: Connection) -> str:
        """Writes the defaults into a store that was never seeded; says where the agents came from."""
        async with connection.transaction():
            seeded = await connection.fetchval("SELECT seeded FROM registry_state FOR UPDATE")
            if seeded:
                return "PostgreSQL"
            now = datetime.now(UTC)
            specs = [replace(spec, create_time=now, update_time=now) for spec in self._defaults()]
            revision = await connection.fetchval("SELECT revision FROM registry_state")
            mutations: list[Mutation] = [PutAgent(spec, etag_of(encode_record(spec)), None) for spec in specs]
            last = await self._write(connection, Change(tuple(mutations)), revision)
            await connection.execute("UPDATE registry_state SET seeded = true, revision = $1", last)
            if specs:
                log.warning(
                    "seeded the PostgreSQL registry with %d agents from %s", len(specs), self._defaults_file
                )
            return f"PostgreSQL (seeded from {self._defaults_file})"

    def _defaults(self) -> list[AgentSpec]:
        if not self._defaults_file or not self._defaults_file.exists():
            return []
        return parse_document(yaml.safe_load(self._defaults_file.read_text(encoding="utf-8")))

    async def import_agents(self, agents: Sequence[StoredAgent]) -> int:
        """Copies agents (etags and times kept) into the store in one change; returns the revision.

        Refuses with AlreadyExistsError, writing nothing, when any name is taken. The store then counts
        as seeded, so the defaults file is never added on top.
        """
        mutations: tuple[Mutation, ...] = tuple(PutAgent(agent.spec, agent.etag, None) for agent in agents)
        with unavailable_on_connection_loss("importing agents"):
            async with self.pool.acquire() as connection, connection.transaction():
                current = await connection.fetchval("SELECT revision FROM registry_state FOR UPDATE")
                try:
                    last = await self._write(connection, Change(mutations), current)
                except StoreConflictError as error:
                    raise AlreadyExistsError(
                        f"the database already holds an agent named {error.name!r}; nothing was imported"
                    ) from error
                await connection.execute("UPDATE registry_state SET revision = $1, seeded = true", last)
                await connection.execute("SELECT pg_notify($1, $2)", CHANGES_CHANNEL, str(last))
        return int(last)

    async def commit(self, change: Change) -> int:
        """Commits the change atomically (group-committed with concurrent ones); returns its revision."""
        current, last = await self._committer.commit(change)
        if self._seen == current:  # nothing from other instances in between: no need to read it back
            self._seen = last
        return int(last)

    async def _commit_in(self, connection: Connection, change: Change) -> tuple[int, int]:
        """Takes the change's revisions under the row lock, checks its request id, writes it.

        Every tenth of the kept window, the same transaction drops the records that fell out of it.
        """
        taken = await connection.fetchrow(TAKE_REVISIONS, len(change.mutations), CHANGES_CHANNEL)
        if taken is None:
            raise RuntimeError("registry_state has no row: the schema migration did not run")
        current, compacted = taken["previous"], taken["compacted_through"]
        if change.request_id:
            await self._refuse_duplicate(connection, change.request_id)
        last = await self._write(connection, change, current)
        floor = last - self._keep_changes
        if floor - compacted > max(self._keep_changes // 10, 1):
            await connection.execute(COMPACT, floor)
        return current, last

    async def _refuse_duplicate(self, connection: Connection, request_id: str) -> None:
        rows = await connection.fetch(CHANGES_OF_REQUEST, request_id)
        if rows:
            raise DuplicateRequestError(request_id, [_change_record(row) for row in rows])

    async def _write(self, connection: Connection, change: Change, current: int) -> int:
        """Applies the change's mutations after revision `current`; returns the last revision used."""
        return await write_change(connection, change, current, self._instance)

    async def changes_since(self, revision: int, limit: int = 1000) -> list[ChangeRecord]:
        """Up to `limit` records after `revision`, whole changes, oldest first."""
        rows = await self._rows_since(revision, limit)
        return [_change_record(row) for row in rows]

    async def _rows_since(self, revision: int, limit: int) -> list[asyncpg.Record]:
        """One query in the common case; the compaction mark is read only when the log has a hole."""
        with unavailable_on_connection_loss("reading registry changes"):
            async with self.pool.acquire() as connection:
                rows = list(await connection.fetch(CHANGES_AFTER, revision, max(limit, 1)))
                if not rows or rows[0]["revision"] != revision + 1:
                    compacted = await connection.fetchval("SELECT compacted_through FROM registry_state")
                    if revision < compacted:
                        raise RevisionCompactedError(revision, compacted)
                if rows and rows[-1]["change_last"] > rows[-1]["revision"]:  # finish a cut change
                    rows += await connection.fetch(
                        CHANGES_BETWEEN, rows[-1]["revision"], rows[-1]["change_last"]
                    )
                return rows

    async def compact(self, keep: int = KEEP_CHANGES) -> int:
        """Drops change records before the last `keep` revisions now; returns the compaction mark."""
        with unavailable_on_connection_loss("compacting the registry change log"):
            async with self.pool.acquire() as connection, connection.transaction():
                revision = await connection.fetchval("SELECT revision FROM registry_state FOR UPDATE")
                compacted = await connection.fetchval("SELECT compacted_through FROM registry_state")
                floor = revision - keep
                if floor <= compacted:
                    return int(compacted)
                await connection.execute(COMPACT, floor)
                return int(floor)

    def subscribe(self, listener: ChangeListener) -> None:
        """Calls `listener` with each change other instances commit, whole and in revision order."""
        self._listeners.append(listener)
        self._start_listening()

    def _start_listening(self) -> None:
        if self._tasks or not self._loaded or not self._listeners:
            return
        self._notifications.start()
        self._tasks = [asyncio.create_task(self._deliver_forever(), name="registry-change-delivery")]

    def _on_notification(self, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            if int(payload) <= self._seen:
                return
        self._wake.set()

    async def _catch_up(self) -> None:
        """Called on every (re)connect of the notification connection: read whatever was missed."""
        self._wake.set()

    async def _deliver_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._deliver_new_changes()
            except RevisionCompactedError as error:
                log.error("this instance fell behind the compacted change log (%s); restart it", error)
            except Exception:  # a lost connection: the listener's reconnect wakes us again
                log.warning(
                    "could not read registry changes; will catch up after reconnecting", exc_info=True
                )

    async def _deliver_new_changes(self) -> None:
        while True:
            rows = await self._rows_since(self._seen, 500)
            if not rows:
                break
            for group in _whole_changes(rows):
                if group[0]["origin"] != self._instance:
                    await self._hand_to_listeners([_change_record(row) for row in group])
                self._seen = max(self._seen, group[-1]["revision"])
        async with self.caught_up:
            self.caught_up.notify_all()

    async def _hand_to_listeners(self, records: Sequence[ChangeRecord]) -> None:
        for listener in self._listeners:
            try:
                await listener(records)
            except Exception:
                log.exception("a registry change listener failed on revision %d", records[-1].revision)

    async def wait_for_revision(self, revision: int, timeout_s: float) -> bool:
        """Waits until this instance has seen `revision`; False on timeout."""
        self._wake.set()
        async with self.caught_up:
            try:
                await asyncio.wait_for(self.caught_up.wait_for(lambda: self._seen >= revision), timeout_s)
            except TimeoutError:
                return False
        return True

    async def close(self) -> None:
        """Stops listening and closes the connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._notifications.stop()
        await self.pool.close()


def _whole_changes(rows: Sequence[asyncpg.Record]) -> list[list[asyncpg.Record]]:
    """Groups consecutive rows into the changes they were committed in."""
    groups: list[list[asyncpg.Record]] = []
    for row in rows:
        if groups and groups[-1][-1]["change_last"] == row["change_last"]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _spec(name: str, record: str) -> AgentSpec:
    """The spec of one stored record; raises DocumentError when it is not a valid agent."""
    try:
        decoded = json.loads(record)
    except ValueError as error:
        raise DocumentError(f"agent {name!r} is not valid JSON: {error}") from error
    return parse_document({"agents": {name: decoded}})[0]


def _change_record(row: asyncpg.Record) -> ChangeRecord:
    kind = ChangeKind(row["kind"])
    agent = None
    if kind is ChangeKind.PUT:
        agent = StoredAgent(_spec(row["name"], row["record"]), row["etag"], row["revision"])
    return ChangeRecord(
        row["revision"], kind, row["name"], agent, row["request_id"], row["request_fingerprint"]
    )
