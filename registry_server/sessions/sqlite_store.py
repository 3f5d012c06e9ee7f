"""SessionStore on SQLite: one group-committing writer connection and a small pool of readers (WAL)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import AlreadyExistsError, EtagMismatchError
from registry_server.domain.session import (
    DEFAULT_APP,
    AgentStats,
    AppendedEvent,
    Event,
    EventActions,
    EventFilter,
    EventPage,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionFilter,
    SessionKey,
    SessionOrder,
    SessionRef,
    SessionStatus,
    StoredEventPage,
)
from registry_server.sessions.event_codec import event_to_json, records_page
from registry_server.sessions.group_commit import (
    LOCK_RETRY_DELAYS_S,
    GroupCommitWriter,
    is_lock_error,
    with_lock_retries,
)
from registry_server.sessions.high_water import MARKS_SUFFIX, HighWaterMarks
from registry_server.sessions.marks_check import check_high_water_marks
from registry_server.sessions.request_log import REQUEST_ID_RETENTION, fingerprint, once
from registry_server.sessions.schema import migrate
from registry_server.sessions.scopes import ScopedDelta, split_delta, without_temp
from registry_server.sessions.sqlite_open import (
    is_damage,
    looks_like_sqlite,
    open_failure,
    passes_quick_check,
    set_aside,
)
from registry_server.sessions.sqlite_rows import (
    SESSION_COLUMNS,
    STATE_COLUMNS,
    STATE_JOINS,
    filter_conditions,
    from_micros,
    require_active,
    resolve,
    resolve_sync,
    session_from_row,
    to_micros,
)
from registry_server.sessions.stats_sql import (
    QUANTILES,
    agent_stats_query,
    nearest_rank_offset,
    stats_from_rows,
)
from registry_server.sessions.touched import track_touched

log = logging.getLogger(__name__)

SESSIONS_FILE_NAME = "sessions.db"
PURGE_BATCH = 200
# Pages stop once they hold this many bytes of content, so a response stays under gRPC's 4 MiB limit.
PAGE_MAX_BYTES = 3 * 1024 * 1024
ROW_OVERHEAD_BYTES = 64
FIRST_FETCH_ROWS = 32
MAX_FETCH_ROWS = 512


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
        self._writer_connection: sqlite3.Connection | None = None
        self._writer: GroupCommitWriter | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    async def open(self) -> SqliteSessionStore:
        """Opens the connections, switches to WAL and brings the schema up to date.

        Only a file whose header or PRAGMA quick_check fails is kept aside as `sessions.db.corrupt-<time>`
        (with its -wal and -shm files) and replaced by an empty store; any other failure (a full disk, an
        I/O error, permissions) raises SessionStoreOpenError and leaves the file where it is.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not looks_like_sqlite(self.path):  # SQLite would treat a short file as empty and overwrite it
            self._set_aside("the file does not start with the SQLite header")
        try:
            connection = await self._open_writer()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and is_lock_error(error):
                raise
            if not is_damage(error) or await _quick_check_or_raise(self.path, error):
                raise open_failure(self.path, error) from error
            self._set_aside(f"{error}; PRAGMA quick_check failed")
            connection = await self._open_writer()
        marks = HighWaterMarks(self.path.with_name(self.path.name + MARKS_SUFFIX))
        try:
            await check_high_water_marks(connection, marks)
            self._writer_connection = await asyncio.to_thread(self._connect_writer)
        finally:
            await connection.close()
        self._writer = GroupCommitWriter(self._writer_connection, self._retry_delays, marks=marks)
        self._writer.start()
        for _ in range(self._reader_count):
            reader = await self._connect()
            await reader.execute("PRAGMA query_only=ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        return self

    def _set_aside(self, reason: str) -> None:
        kept = set_aside(self.path)
        log.error(
            "%s is not a readable SQLite database (%s); kept it as %s and started an empty session store",
            self.path.name,
            reason,
            kept.name,
        )

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

    def _connect_writer(self) -> sqlite3.Connection:
        """The writer's own connection, used only from the writer thread (one batch at a time)."""
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in self._pragmas():
                connection.execute(pragma)
            track_touched(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _pragmas(self) -> tuple[str, ...]:
        return (
            f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
        )

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            for pragma in self._pragmas():
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def close(self) -> None:
        """Commits pending writes, then closes every connection."""
        if self._writer is not None:
            await self._writer.close()
        for reader in self._all_readers:
            await reader.close()
        if self._writer_connection is not None:
            await asyncio.to_thread(self._writer_connection.close)
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

    async def _write(
        self,
        operation: Callable[[sqlite3.Connection], Any],
        request_id: str = "",
        request_fingerprint: str = "",
    ) -> Any:
        if self._writer is None:
            raise RuntimeError("the session store is not open")
        now = to_micros(self._clock())
        return await self._writer.submit(
            lambda connection: once(connection, request_id, request_fingerprint, now, operation)
        )

    async def create_session(
        self,
        user_id: str,
        metadata: Mapping[str, str],
        *,
        app_name: str = DEFAULT_APP,
        session_id: str = "",
        state: Mapping[str, Any] | None = None,
        request_id: str = "",
    ) -> Session:
        """Creates an ACTIVE session (a new unguessable id unless one is given) with its initial state."""
        now = self._clock()
        scoped = split_delta(state or {})
        request = fingerprint("create", app_name, user_id, session_id, metadata, without_temp(state or {}))
        new_id = session_id or secrets.token_urlsafe(18)

        def insert(connection: sqlite3.Connection) -> Session:
            try:
                cursor = connection.execute(
                    "INSERT INTO sessions (app_name, user_id, session_id, status, metadata, create_time, "
                    "update_time) VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?)",
                    (app_name, user_id, new_id, json.dumps(dict(metadata)), to_micros(now), to_micros(now)),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExistsError(
                    f"user {user_id!r} already has a session {new_id!r} in app {app_name!r}; "
                    "choose another id or leave it empty"
                ) from None
            sid = int(cursor.lastrowid or 0)
            _apply_state(connection, sid, app_name, user_id, scoped)
            _, created = resolve_sync(connection, SessionKey(new_id, app_name, user_id), with_state=True)
            return created

        return await self._write(insert, request_id, request)  # type: ignore[no-any-return]

    async def get_session(self, session_id: SessionRef, *, with_state: bool = False) -> Session:
        """The session's summary (with its merged state when asked); raises NotFoundError."""

        async def query(connection: aiosqlite.Connection) -> Session:
            return (await resolve(connection, session_id, with_state=with_state))[1]

        return await self._read(query, "get session")  # type: ignore[no-any-return]

    async def read_session(
        self,
        session_id: SessionRef,
        event_filter: EventFilter,
        start_seq: int,
        limit: int,
        max_bytes: int = PAGE_MAX_BYTES,
    ) -> tuple[Session, EventPage]:
        """The session with its merged state and one page of its events, from one snapshot."""
        session, stored = await self.read_session_documents(
            session_id, event_filter, start_seq, limit, max_bytes
        )
        return session, records_page(stored)

    async def read_session_documents(
        self,
        session_id: SessionRef,
        event_filter: EventFilter,
        start_seq: int,
        limit: int,
        max_bytes: int = PAGE_MAX_BYTES,
    ) -> tuple[Session, StoredEventPage]:
        """The session with its merged state and one page of its events, from one snapshot.

        `start_seq` 0 starts where the filter says; a page's next_after_seq continues it.
        """

        async def query(connection: aiosqlite.Connection) -> tuple[Session, StoredEventPage]:
            sid, session = await resolve(connection, session_id, with_state=True)
            first = start_seq or _first_seq(session.event_count, event_filter.num_recent)
            if first > session.event_count:
                return session, StoredEventPage([], None)
            conditions: list[str] = ["sid = ?", "seq >= ?"]
            parameters: list[Any] = [sid, first]
            if event_filter.after_timestamp is not None:
                conditions.append("timestamp >= ?")
                parameters.append(event_filter.after_timestamp)
            cursor = await connection.execute(
                f"SELECT seq, body FROM events WHERE {' AND '.join(conditions)} "  # noqa: S608
                "ORDER BY seq LIMIT ?",
                (*parameters, limit + 1),
            )
            rows, more = await _rows_within(cursor, limit, max_bytes, lambda row: len(row[1]))
            return session, StoredEventPage(rows, rows[-1][0] + 1 if rows and more else None)

        return await self._read(query, "get session")  # type: ignore[no-any-return]

    async def list_history(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = PAGE_MAX_BYTES
    ) -> list[HistoryEntry]:
        """Up to `limit` history entries with seq > after_seq, oldest first, within `max_bytes`."""

        async def query(connection: aiosqlite.Connection) -> list[HistoryEntry]:
            sid, _ = await resolve(connection, session_id)
            cursor = await connection.execute(
                "SELECT seq, role, content, agent_name, create_time FROM history "
                "WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?",
                (sid, after_seq, limit),
            )
            rows, _ = await _rows_within(cursor, limit, max_bytes, lambda row: len(row[2]))
            return [HistoryEntry(r[0], Role(r[1]), r[2], r[3], from_micros(r[4])) for r in rows]

        return await self._read(query, "list history")  # type: ignore[no-any-return]

    async def list_invocations(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = PAGE_MAX_BYTES
    ) -> list[Invocation]:
        """Up to `limit` invocations with seq > after_seq, oldest first, within `max_bytes`."""

        async def query(connection: aiosqlite.Connection) -> list[Invocation]:
            sid, _ = await resolve(connection, session_id)
            cursor = await connection.execute(
                "SELECT agent_name, query, response, success, duration_ms, error, seq, create_time "
                "FROM invocations WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?",
                (sid, after_seq, limit),
            )
            rows, _ = await _rows_within(
                cursor, limit, max_bytes, lambda row: len(row[1]) + len(row[2]) + len(row[5])
            )
            return [
                Invocation(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], from_micros(r[7])) for r in rows
            ]

        return await self._read(query, "list invocations")  # type: ignore[no-any-return]

    async def list_sessions(
        self,
        session_filter: SessionFilter,
        before: tuple[datetime, str] | None,
        limit: int,
        *,
        order: SessionOrder = SessionOrder.CREATE_TIME_DESC,
        with_state: bool = False,
    ) -> list[Session]:
        """Up to `limit` sessions newest first (by `order`), strictly after the (time, session_id) cursor."""
        column = "s.update_time" if order is SessionOrder.UPDATE_TIME_DESC else "s.create_time"
        conditions, parameters = filter_conditions(session_filter)
        if before is not None:
            conditions.append(f"({column}, s.session_id) < (?, ?)")
            parameters += [to_micros(before[0]), before[1]]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
        joins = STATE_JOINS if with_state else ""
        sql = (
            f"SELECT {columns} FROM sessions s {joins} {where} "  # noqa: S608 - fixed fragments, values bound
            f"ORDER BY {column} DESC, s.session_id DESC LIMIT ?"
        )

        async def query(connection: aiosqlite.Connection) -> list[Session]:
            rows = await connection.execute_fetchall(sql, (*parameters, limit))
            return [session_from_row(row, with_state=with_state) for row in rows]

        return await self._read(query, "list sessions")  # type: ignore[no-any-return]

    async def get_user_state(self, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state in the app, keys without the prefix; {} when there is none."""

        async def query(connection: aiosqlite.Connection) -> dict[str, Any]:
            rows = list(
                await connection.execute_fetchall(
                    "SELECT state FROM user_state WHERE app_name = ? AND user_id = ?", (app_name, user_id)
                )
            )
            return dict(json.loads(rows[0][0])) if rows else {}

        return await self._read(query, "get user state")  # type: ignore[no-any-return]

    async def append_event(
        self, session_id: SessionRef, event: Event, *, expected_revision: int = 0, request_id: str = ""
    ) -> AppendedEvent:
        """Stores the event and applies its state delta to the three scopes, in one transaction.

        A partial event is returned unstored; `temp:` keys are dropped. Raises EtagMismatchError when
        `expected_revision` (if not 0) is not the session's revision.
        """
        stored = _storable(event)
        scoped = split_delta(stored.actions.state_delta)
        body = event_to_json(stored)
        request = fingerprint("append_event", str(session_id), body, expected_revision)
        now = to_micros(self._clock())

        def append(connection: sqlite3.Connection) -> AppendedEvent:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            if expected_revision and expected_revision != session.revision:
                raise EtagMismatchError(
                    f"session {session.session_id} is at revision {session.revision}, not "
                    f"{expected_revision}: it changed since it was read; read it again and retry"
                )
            if event.partial:
                return AppendedEvent(event, session.revision)
            seq, revision = session.event_count + 1, session.revision + 1
            connection.execute(
                "INSERT INTO events (sid, seq, timestamp, body) VALUES (?, ?, ?, ?)",
                (sid, seq, stored.timestamp, body),
            )
            _apply_state(connection, sid, session.app_name, session.user_id, scoped)
            connection.execute(
                "UPDATE sessions SET event_count = ?, revision = ?, update_time = ? WHERE sid = ?",
                (seq, revision, now, sid),
            )
            return AppendedEvent(_with_seq(stored, seq), revision)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def append_history(
        self, session_id: SessionRef, role: Role, content: str, agent_name: str, *, request_id: str = ""
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        now = self._clock()
        request = fingerprint("append_history", str(session_id), role.value, content, agent_name)

        def append(connection: sqlite3.Connection) -> HistoryEntry:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            seq = session.history_count + 1
            connection.execute(
                "UPDATE sessions SET history_count = ?, update_time = ? WHERE sid = ?",
                (seq, to_micros(now), sid),
            )
            connection.execute(
                "INSERT INTO history (sid, seq, role, content, agent_name, create_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sid, seq, role.value, content, agent_name, to_micros(now)),
            )
            return HistoryEntry(seq, role, content, agent_name, now)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def record_invocation(
        self, session_id: SessionRef, invocation: NewInvocation, *, request_id: str = ""
    ) -> Invocation:
        """Records the invocation; a successful one makes its agent the session's last agent."""
        now = self._clock()
        request = fingerprint("record_invocation", str(session_id), vars(invocation))

        def record(connection: sqlite3.Connection) -> Invocation:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            seq = session.invocation_count + 1
            assignments = "invocation_count = ?, update_time = ?"
            values: list[Any] = [seq, to_micros(now)]
            if invocation.success:
                assignments += ", last_agent_called = ?, last_query = ?, last_response = ?"
                values += [invocation.agent_name, invocation.query, invocation.response]
            connection.execute(
                f"UPDATE sessions SET {assignments} WHERE sid = ?",  # noqa: S608 - fixed fragments
                (*values, sid),
            )
            connection.execute(
                "INSERT INTO invocations (sid, seq, agent_name, query, response, success, duration_ms, "
                "error, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    seq,
                    invocation.agent_name,
                    invocation.query,
                    invocation.response,
                    int(invocation.success),
                    invocation.duration_ms,
                    invocation.error,
                    to_micros(now),
                ),
            )
            return Invocation(**vars(invocation), seq=seq, create_time=now)

        return await self._write(record, request_id, request)  # type: ignore[no-any-return]

    async def set_last_agent(
        self, session_id: SessionRef, agent_name: str, query: str, response: str
    ) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        now = self._clock()

        def update(connection: sqlite3.Connection) -> None:
            sid, _ = resolve_sync(connection, session_id)
            connection.execute(
                "UPDATE sessions SET last_agent_called = ?, last_query = ?, last_response = ?, "
                "update_time = ? WHERE sid = ?",
                (agent_name, query, response, to_micros(now), sid),
            )

        await self._write(update)

    async def update_status(
        self, session_id: SessionRef, status: SessionStatus, *, request_id: str = ""
    ) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        now = self._clock()

        def update(connection: sqlite3.Connection) -> Session:
            sid, current = resolve_sync(connection, session_id)
            if current.status is status:
                return current
            require_active(current)
            connection.execute(
                "UPDATE sessions SET status = ?, update_time = ? WHERE sid = ?",
                (status.value, to_micros(now), sid),
            )
            return Session(**{**vars(current), "status": status, "update_time": now})

        request = fingerprint("update_status", str(session_id), status.value)
        return await self._write(update, request_id, request)  # type: ignore[no-any-return]

    async def delete_session(self, session_id: SessionRef, *, request_id: str = "") -> None:
        """Deletes the session with its events, state, history and invocations; raises NotFoundError."""

        def delete(connection: sqlite3.Connection) -> None:
            sid, _ = resolve_sync(connection, session_id)
            connection.execute("DELETE FROM sessions WHERE sid = ?", (sid,))

        await self._write(delete, request_id, fingerprint("delete", str(session_id)))

    async def agent_stats(
        self, user_id: str, start: datetime | None, end: datetime | None
    ) -> list[AgentStats]:
        """Per-agent statistics of the invocations recorded in [start, end), computed by SQLite."""
        query = agent_stats_query(
            user_id, to_micros(start) if start else None, to_micros(end) if end else None
        )

        async def read(connection: aiosqlite.Connection) -> list[Any]:
            rows = []
            for name, total, successes in await connection.execute_fetchall(
                query.counts_sql, query.parameters
            ):
                percentiles = []
                for quantile in QUANTILES:
                    found = await connection.execute_fetchall(
                        query.percentile_sql,
                        (name, *query.parameters, nearest_rank_offset(quantile, int(total))),
                    )
                    percentiles.append(next(iter(found))[0])
                rows.append((name, total, successes, *percentiles))
            return rows

        return stats_from_rows(await self._read(read, "session stats"))

    async def purge_expired(self, updated_before: datetime) -> int:
        """Deletes closed sessions last updated before `updated_before` (and request ids past their
        retention), in batches; returns how many sessions."""
        cutoff = to_micros(updated_before)
        request_cutoff = to_micros(self._clock() - REQUEST_ID_RETENTION)

        def purge_batch(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions "
                "WHERE status IN ('COMPLETED', 'ABANDONED') AND update_time < ? LIMIT ?)",
                (cutoff, PURGE_BATCH),
            )
            connection.execute(
                "DELETE FROM request_log WHERE request_id IN (SELECT request_id FROM request_log "
                "WHERE create_time < ? LIMIT ?)",
                (request_cutoff, PURGE_BATCH),
            )
            return int(cursor.rowcount)

        purged = 0
        while True:
            removed = int(await self._write(purge_batch))
            purged += removed
            if removed < PURGE_BATCH:
                return purged


async def _quick_check_or_raise(path: Path, error: BaseException) -> bool:
    """True when PRAGMA quick_check finds the file sound (so the open error was not damage)."""
    log.warning("opening %s failed (%s); running PRAGMA quick_check", path.name, error)
    return await passes_quick_check(path)


def _apply_state(
    connection: sqlite3.Connection, sid: int, app_name: str, user_id: str, scoped: ScopedDelta
) -> None:
    """Applies a state delta to the session's, the user's and the app's state rows."""
    targets = (
        (scoped.session, "session_state", "sid = ?", (sid,), "(sid, state)", "?, ?"),
        (scoped.user, "user_state", "app_name = ? AND user_id = ?", (app_name, user_id),
         "(app_name, user_id, state)", "?, ?, ?"),
        (scoped.app, "app_state", "app_name = ?", (app_name,), "(app_name, state)", "?, ?"),
    )  # fmt: skip
    for delta, table, where, keys, columns, placeholders in targets:
        if not delta:
            continue
        rows = connection.execute(f"SELECT state FROM {table} WHERE {where}", keys).fetchall()  # noqa: S608
        state = json.loads(rows[0][0]) if rows else {}
        state.update(delta)
        connection.execute(
            f"INSERT OR REPLACE INTO {table} {columns} VALUES ({placeholders})",  # noqa: S608
            (*keys, json.dumps(state, ensure_ascii=False)),
        )


def _first_seq(event_count: int, num_recent: int | None) -> int:
    """The seq of the first event the filter keeps (seqs run 1..event_count with no gaps)."""
    if num_recent is None:
        return 1
    return event_count + 1 - num_recent if num_recent else event_count + 1


async def _rows_within(
    cursor: aiosqlite.Cursor, limit: int, max_bytes: int, size: Callable[[Any], int]
) -> tuple[list[Any], bool]:
    """Up to `limit` rows of the cursor while their size stays within `max_bytes` (at least one row),
    and whether rows were left (the query asks for `limit` + 1 to tell)."""
    rows: list[Any] = []
    total, largest, batch = 0, 1, FIRST_FETCH_ROWS
    async with cursor:
        while fetched := await cursor.fetchmany(batch):
            for row in fetched:
                row_bytes = size(row) + ROW_OVERHEAD_BYTES
                total += row_bytes
                if len(rows) >= limit or (rows and total > max_bytes):
                    return rows, True
                rows.append(row)
                largest = max(largest, row_bytes)
            # Each fetch is a hop to the connection's thread: fetch as many rows as the budget left could
            # hold at the largest size seen, so a page of small rows costs a few hops, not one per 32 rows.
            batch = max(FIRST_FETCH_ROWS, min(MAX_FETCH_ROWS, (max_bytes - total) // largest))
    return rows, False


def _storable(event: Event) -> Event:
    """The event as stored: an id if it had none, and no `temp:` keys."""
    actions = event.actions
    return Event(
        event_id=event.event_id or str(uuid.uuid4()),
        invocation_id=event.invocation_id,
        author=event.author,
        timestamp=event.timestamp,
        content=event.content,
        partial=False,
        turn_complete=event.turn_complete,
        actions=EventActions(
            without_temp(actions.state_delta),
            actions.artifact_delta,
            actions.transfer_to_agent,
            actions.escalate,
            actions.skip_summarization,
            actions.extra,
        ),
        extra=event.extra,
    )


def _with_seq(event: Event, seq: int) -> Event:
    return Event(**{**vars(event), "seq": seq})
