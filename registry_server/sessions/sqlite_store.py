"""SessionStore on SQLite: one group-committing writer connection and a small pool of readers (WAL)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import InvalidStateError, NotFoundError
from registry_server.domain.session import (
    AgentStats,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionFilter,
    SessionStatus,
)
from registry_server.sessions.group_commit import (
    LOCK_RETRY_DELAYS_S,
    GroupCommitWriter,
    is_lock_error,
    with_lock_retries,
)
from registry_server.sessions.schema import migrate

log = logging.getLogger(__name__)

SESSIONS_FILE_NAME = "sessions.db"
SQLITE_HEADER = b"SQLite format 3\x00"
SESSION_COLUMNS = (
    "session_id, user_id, status, metadata, create_time, update_time, last_agent_called, last_query, "
    "last_response, history_count, invocation_count"
)
PURGE_BATCH = 200


def to_micros(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (UTC)."""
    return round(moment.timestamp() * 1_000_000)


def from_micros(micros: int) -> datetime:
    """The UTC datetime of integer microseconds since the epoch."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC)


class SqliteSessionStore:
    """Sessions in `<data-dir>/sessions.db`. Writes are durable (WAL, synchronous=FULL) when they return."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = 1000,
        retry_delays: Sequence[float] = LOCK_RETRY_DELAYS_S,
        readers: int = 2,
        clock: Clock = utc_now,
    ) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_delays = tuple(retry_delays)
        self._reader_count = readers
        self._clock = clock
        self._writer_connection: aiosqlite.Connection | None = None
        self._writer: GroupCommitWriter | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    async def open(self) -> SqliteSessionStore:
        """Opens the connections, switches to WAL and brings the schema up to date.

        A file that is not a readable SQLite database is kept aside as `sessions.db.corrupt-<time>` (with its
        -wal and -shm files), never overwritten, and the store starts empty; the error log says so.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not _looks_like_sqlite(self.path):  # SQLite would treat a short file as empty and overwrite it
                raise sqlite3.DatabaseError("the file does not start with the SQLite header")
            connection = await self._open_writer()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and is_lock_error(error):
                raise
            kept = _set_aside(self.path)
            log.error(
                "%s is not a readable SQLite database (%s); kept it as %s and started an empty session store",
                self.path.name,
                error,
                kept.name,
            )
            connection = await self._open_writer()
        self._writer_connection = connection
        self._writer = GroupCommitWriter(connection, self._retry_delays)
        self._writer.start()
        for _ in range(self._reader_count):
            reader = await self._connect()
            await reader.execute("PRAGMA query_only=ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        return self

    @property
    def commit_counts(self) -> tuple[int, int]:
        """(transactions committed, writes they carried): how well group commit is batching."""
        return (self._writer.transactions, self._writer.writes) if self._writer else (0, 0)

    async def _open_writer(self) -> aiosqlite.Connection:
        connection = await self._connect()
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await with_lock_retries(lambda: migrate(connection), self._retry_delays, "schema migration")
            await connection.execute_fetchall("SELECT count(*) FROM sessions")
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            for pragma in (
                f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}",
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
            ):
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def close(self) -> None:
        """Commits pending writes, then closes every connection."""
        if self._writer is not None:
            await self._writer.close()
        for connection in [self._writer_connection, *self._all_readers]:
            if connection is not None:
                await connection.close()
        self._writer_connection, self._all_readers = None, []

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection inside one read transaction, so a multi-query read sees one snapshot."""
        connection = await self._readers.get()
        try:
            await connection.execute("BEGIN")
            try:
                yield connection
            finally:
                await connection.execute("COMMIT")
        finally:
            self._readers.put_nowait(connection)

    async def _read(self, query: Callable[[aiosqlite.Connection], Any], what: str) -> Any:
        async def attempt() -> Any:
            async with self._reading() as connection:
                return await query(connection)

        return await with_lock_retries(attempt, self._retry_delays, what)

    async def _write(self, operation: Callable[[aiosqlite.Connection], Any]) -> Any:
        if self._writer is None:
            raise RuntimeError("the session store is not open")
        return await self._writer.submit(operation)

    async def create_session(self, user_id: str, metadata: dict[str, str]) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(18), user_id, SessionStatus.ACTIVE, now, now, dict(metadata))

        async def insert(connection: aiosqlite.Connection) -> Session:
            await connection.execute(
                "INSERT INTO sessions (session_id, user_id, status, metadata, create_time, update_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.session_id,
                    user_id,
                    session.status.value,
                    json.dumps(session.metadata),
                    to_micros(now),
                    to_micros(now),
                ),
            )
            return session

        return await self._write(insert)

    async def get_session(self, session_id: str) -> Session:
        return await self._read(lambda c: _fetch_session(c, session_id), "get session")

    async def list_history(self, session_id: str, after_seq: int, limit: int) -> list[HistoryEntry]:
        async def query(connection: aiosqlite.Connection) -> list[HistoryEntry]:
            await _fetch_session(connection, session_id)
            rows = await connection.execute_fetchall(
                "SELECT seq, role, content, agent_name, create_time FROM history "
                "WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (session_id, after_seq, limit),
            )
            return [HistoryEntry(r[0], Role(r[1]), r[2], r[3], from_micros(r[4])) for r in rows]

        return await self._read(query, "list history")

    async def list_invocations(self, session_id: str, after_seq: int, limit: int) -> list[Invocation]:
        async def query(connection: aiosqlite.Connection) -> list[Invocation]:
            await _fetch_session(connection, session_id)
            rows = await connection.execute_fetchall(
                "SELECT agent_name, query, response, success, duration_ms, error, seq, create_time "
                "FROM invocations WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (session_id, after_seq, limit),
            )
            return [
                Invocation(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], from_micros(r[7])) for r in rows
            ]

        return await self._read(query, "list invocations")

    async def list_sessions(
        self, session_filter: SessionFilter, before: tuple[datetime, str] | None, limit: int
    ) -> list[Session]:
        conditions, parameters = _filter_conditions(session_filter)
        if before is not None:
            conditions.append("(create_time, session_id) < (?, ?)")
            parameters += [to_micros(before[0]), before[1]]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = (
            f"SELECT {SESSION_COLUMNS} FROM sessions {where} "  # noqa: S608 - fixed fragments, values bound
            "ORDER BY create_time DESC, session_id DESC LIMIT ?"
        )

        async def query(connection: aiosqlite.Connection) -> list[Session]:
            rows = await connection.execute_fetchall(sql, (*parameters, limit))
            return [_session_from_row(row) for row in rows]

        return await self._read(query, "list sessions")

    async def append_history(
        self, session_id: str, role: Role, content: str, agent_name: str
    ) -> HistoryEntry:
        now = self._clock()

        async def append(connection: aiosqlite.Connection) -> HistoryEntry:
            seq = await _claim_next(connection, session_id, "history_count", now, ())
            await connection.execute(
                "INSERT INTO history (session_id, seq, role, content, agent_name, create_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, seq, role.value, content, agent_name, to_micros(now)),
            )
            return HistoryEntry(seq, role, content, agent_name, now)

        return await self._write(append)

    async def record_invocation(self, session_id: str, invocation: NewInvocation) -> Invocation:
        now = self._clock()
        context = (invocation.agent_name, invocation.query, invocation.response)

        async def record(connection: aiosqlite.Connection) -> Invocation:
            seq = await _claim_next(connection, session_id, "invocation_count", now, context)
            await connection.execute(
                "INSERT INTO invocations (session_id, seq, agent_name, query, response, success, "
                "duration_ms, error, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    seq,
                    *context,
                    int(invocation.success),
                    invocation.duration_ms,
                    invocation.error,
                    to_micros(now),
                ),
            )
            return Invocation(**vars(invocation), seq=seq, create_time=now)

        return await self._write(record)

    async def set_last_agent(self, session_id: str, agent_name: str, query: str, response: str) -> None:
        now = self._clock()

        async def update(connection: aiosqlite.Connection) -> None:
            cursor = await connection.execute(
                "UPDATE sessions SET last_agent_called = ?, last_query = ?, last_response = ?, "
                "update_time = ? WHERE session_id = ?",
                (agent_name, query, response, to_micros(now), session_id),
            )
            if cursor.rowcount == 0:
                raise _not_found(session_id)

        await self._write(update)

    async def update_status(self, session_id: str, status: SessionStatus) -> Session:
        now = self._clock()

        async def update(connection: aiosqlite.Connection) -> Session:
            current = await _fetch_session(connection, session_id)
            if current.status is status:
                return current
            if current.status is not SessionStatus.ACTIVE:
                raise InvalidStateError(
                    f"session {session_id} is {current.status.value} and cannot become {status.value}; "
                    "only ACTIVE sessions change status"
                )
            await connection.execute(
                "UPDATE sessions SET status = ?, update_time = ? WHERE session_id = ?",
                (status.value, to_micros(now), session_id),
            )
            return Session(**{**vars(current), "status": status, "update_time": now})

        return await self._write(update)

    async def delete_session(self, session_id: str) -> None:
        async def delete(connection: aiosqlite.Connection) -> None:
            cursor = await connection.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            if cursor.rowcount == 0:
                raise _not_found(session_id)

        await self._write(delete)

    async def agent_stats(
        self, user_id: str, start: datetime | None, end: datetime | None
    ) -> list[AgentStats]:
        conditions, parameters = [], []
        if user_id:
            conditions.append("session_id IN (SELECT session_id FROM sessions WHERE user_id = ?)")
            parameters.append(user_id)
        if start is not None:
            conditions.append("create_time >= ?")
            parameters.append(to_micros(start))
        if end is not None:
            conditions.append("create_time < ?")
            parameters.append(to_micros(end))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT agent_name, success, duration_ms FROM invocations {where}"  # noqa: S608

        async def query(connection: aiosqlite.Connection) -> list[tuple[str, int, int]]:
            return list(await connection.execute_fetchall(sql, parameters))

        return _summarise(await self._read(query, "session stats"))

    async def purge_expired(self, updated_before: datetime) -> int:
        cutoff = to_micros(updated_before)

        async def purge_batch(connection: aiosqlite.Connection) -> int:
            cursor = await connection.execute(
                "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM sessions "
                "WHERE status IN ('COMPLETED', 'ABANDONED') AND update_time < ? LIMIT ?)",
                (cutoff, PURGE_BATCH),
            )
            return cursor.rowcount

        purged = 0
        while True:
            removed = await self._write(purge_batch)
            purged += removed
            if removed < PURGE_BATCH:
                return purged


async def _fetch_session(connection: aiosqlite.Connection, session_id: str) -> Session:
    rows = await connection.execute_fetchall(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?",  # noqa: S608
        (session_id,),
    )
    if not rows:
        raise _not_found(session_id)
    return _session_from_row(next(iter(rows)))


async def _claim_next(
    connection: aiosqlite.Connection, session_id: str, counter: str, now: datetime, context: tuple[str, ...]
) -> int:
    """Bumps the session's counter and returns the new value: the next gap-free seq. Changes nothing
    and raises when the session is missing or closed."""
    assignments = f"{counter} = {counter} + 1, update_time = ?"
    if context:
        assignments += ", last_agent_called = ?, last_query = ?, last_response = ?"
    rows = await connection.execute_fetchall(
        f"UPDATE sessions SET {assignments} WHERE session_id = ? AND status = 'ACTIVE' "  # noqa: S608
        f"RETURNING {counter}",
        (to_micros(now), *context, session_id),
    )
    if rows:
        return int(next(iter(rows))[0])
    current = await _fetch_session(connection, session_id)
    raise InvalidStateError(
        f"session {session_id} is {current.status.value}; only ACTIVE sessions accept writes, "
        "create a new one"
    )


def _filter_conditions(session_filter: SessionFilter) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    parameters: list[Any] = []
    if session_filter.user_id:
        conditions.append("user_id = ?")
        parameters.append(session_filter.user_id)
    if session_filter.status is not None:
        conditions.append("status = ?")
        parameters.append(session_filter.status.value)
    bounds = (
        ("create_time >= ?", session_filter.create_time_start),
        ("create_time < ?", session_filter.create_time_end),
        ("update_time >= ?", session_filter.update_time_start),
        ("update_time < ?", session_filter.update_time_end),
    )
    for condition, moment in bounds:
        if moment is not None:
            conditions.append(condition)
            parameters.append(to_micros(moment))
    return conditions, parameters


def _session_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Session:
    return Session(
        session_id=row[0],
        user_id=row[1],
        status=SessionStatus(row[2]),
        metadata=json.loads(row[3]),
        create_time=from_micros(row[4]),
        update_time=from_micros(row[5]),
        last_agent_called=row[6],
        last_query=row[7],
        last_response=row[8],
        history_count=row[9],
        invocation_count=row[10],
    )


def _looks_like_sqlite(path: Path) -> bool:
    """True for a missing or empty file (a new database) or one that starts with SQLite's header."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return True
    return head in (b"", SQLITE_HEADER)


def _set_aside(path: Path) -> Path:
    """Renames a corrupt database and its WAL files to `<name>.corrupt-<UTC time>`; returns the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, kept.with_name(kept.name + suffix))
    return kept


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"no session has id {session_id!r}; ListSessions shows a user's sessions")


def _summarise(rows: list[tuple[str, int, int]]) -> list[AgentStats]:
    durations: dict[str, list[int]] = defaultdict(list)
    successes: dict[str, int] = defaultdict(int)
    for agent_name, success, duration_ms in rows:
        durations[agent_name].append(duration_ms)
        successes[agent_name] += bool(success)
    stats = []
    for agent_name, values in durations.items():
        values.sort()
        stats.append(
            AgentStats(
                agent_name=agent_name,
                invocations=len(values),
                successes=successes[agent_name],
                failures=len(values) - successes[agent_name],
                p50_duration_ms=float(_nearest_rank(values, 0.50)),
                p95_duration_ms=float(_nearest_rank(values, 0.95)),
            )
        )
    return sorted(stats, key=lambda s: (-s.invocations, s.agent_name))


def _nearest_rank(sorted_values: list[int], quantile: float) -> int:
    return sorted_values[max(0, math.ceil(quantile * len(sorted_values)) - 1)]
