"""SessionStore on PostgreSQL (asyncpg): the SQLite store's contract, shared by many instances.

Seqs and revisions are claimed by an UPDATE ... RETURNING on the session's row inside the write's own
transaction, so they stay gap-free across instances; request ids are claimed by a unique insert, so a retry
reaching another instance still applies once. Each instance group-commits its own writes.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    InvalidStateError,
    ValidationError,
)
from registry_server.domain.session import (
    DEFAULT_APP,
    AgentStats,
    AppendedEvent,
    Event,
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
from registry_server.sessions.postgres_schema import migrate
from registry_server.sessions.postgres_writer import (
    UNAVAILABLE_ERRORS,
    PostgresGroupCommitWriter,
    unavailable,
)
from registry_server.sessions.request_log import (
    REQUEST_ID_RETENTION,
    decode_result,
    encode_result,
    fingerprint,
)
from registry_server.sessions.scopes import ScopedDelta, split_delta, without_temp
from registry_server.sessions.sqlite_rows import (
    SESSION_COLUMNS,
    as_key,
    filter_conditions,
    from_micros,
    not_found,
    require_active,
    session_from_row,
    to_micros,
)
from registry_server.sessions.sqlite_store import PAGE_MAX_BYTES, ROW_OVERHEAD_BYTES, _first_seq, _storable
from registry_server.sessions.stats_sql import stats_from_rows

STATE_COLUMNS = "ss.state, us.state, a.state"
STATE_JOINS = (
    "LEFT JOIN session_state ss ON ss.sid = s.sid "
    "LEFT JOIN session_user_state us ON us.app_name = s.app_name AND us.user_id = s.user_id "
    "LEFT JOIN session_app_state a ON a.app_name = s.app_name"
)
PURGE_BATCH = 200
READ_BATCH = 32


def numbered(sql: str, start: int = 1) -> str:
    """SQL with its `?` placeholders numbered as PostgreSQL's $1, $2, ... from `start`."""
    counter = iter(range(start, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class PostgresSessionStore:
    """Sessions in PostgreSQL; every write returns once its transaction has committed."""

    def __init__(self, url: str, *, clock: Clock = utc_now, pool_size: int = 10) -> None:
        self._url = url
        self._clock = clock
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._writer: PostgresGroupCommitWriter | None = None

    async def open(self) -> PostgresSessionStore:
        """Connects, migrates the session tables and starts the writer."""
        try:
            self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self._pool_size)
            async with self._pool.acquire() as connection:
                await migrate(connection)
        except UNAVAILABLE_ERRORS as error:
            raise unavailable(error) from error
        self._writer = PostgresGroupCommitWriter(self._pool)
        self._writer.start()
        return self

    async def close(self) -> None:
        """Commits pending writes, then closes the pool."""
        if self._writer is not None:
            await self._writer.close()
        if self._pool is not None:
            await self._pool.close()
        self._pool = None

    @property
    def commit_counts(self) -> tuple[int, int]:
        """(transactions committed, writes they carried)."""
        return (self._writer.transactions, self._writer.writes) if self._writer else (0, 0)

    async def _read(self, query: Callable[[Any], Any]) -> Any:
        if self._pool is None:
            raise RuntimeError("the session store is not open")
        try:
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await query(connection)
        except UNAVAILABLE_ERRORS as error:
            raise unavailable(error) from error

    async def _write(
        self, operation: Callable[[Any], Any], request_id: str = "", request_fingerprint: str = ""
    ) -> Any:
        if self._writer is None:
            raise RuntimeError("the session store is not open")
        now = to_micros(self._clock())
        return await self._writer.submit(
            lambda connection: _once(connection, request_id, request_fingerprint, now, operation)
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
        now = to_micros(self._clock())
        scoped = split_delta(state or {})
        request = fingerprint("create", app_name, user_id, session_id, metadata, without_temp(state or {}))
        new_id = session_id or secrets.token_urlsafe(18)

        async def insert(connection: Any) -> Session:
            sid = await connection.fetchval(
                "INSERT INTO sessions (app_name, user_id, session_id, status, metadata, create_time, "
                "update_time) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5) "
                "ON CONFLICT (app_name, user_id, session_id) DO NOTHING RETURNING sid",
                app_name,
                user_id,
                new_id,
                json.dumps(dict(metadata)),
                now,
            )
            if sid is None:
                raise AlreadyExistsError(
                    f"user {user_id!r} already has a session {new_id!r} in app {app_name!r}; "
                    "choose another id or leave it empty"
                )
            await _apply_state(connection, sid, app_name, user_id, scoped)
            return (await _resolve(connection, SessionKey(new_id, app_name, user_id), with_state=True))[1]

        return await self._write(insert, request_id, request)  # type: ignore[no-any-return]

    async def get_session(self, session_id: SessionRef, *, with_state: bool = False) -> Session:
        """The session's summary (with its merged state when asked); raises NotFoundError."""

        async def query(connection: Any) -> Session:
            return (await _resolve(connection, session_id, with_state=with_state))[1]

        return await self._read(query)  # type: ignore[no-any-return]

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
        """The session with its merged state and one page of its events, from one snapshot."""

        async def query(connection: Any) -> tuple[Session, StoredEventPage]:
            sid, session = await _resolve(connection, session_id, with_state=True)
            first = start_seq or _first_seq(session.event_count, event_filter.num_recent)
            if first > session.event_count:
                return session, StoredEventPage([], None)
            sql = "SELECT seq, body FROM session_events WHERE sid = $1 AND seq >= $2"
            parameters: list[Any] = [sid, first]
            if event_filter.after_timestamp is not None:
                sql += " AND timestamp >= $3"
                parameters.append(event_filter.after_timestamp)
            sql += f" ORDER BY seq LIMIT {int(limit) + 1}"
            rows, more = await _rows_within(
                connection, sql, parameters, limit=limit, max_bytes=max_bytes, size=lambda r: len(r[1])
            )
            pairs = [(seq, body) for seq, body in rows]
            return session, StoredEventPage(pairs, pairs[-1][0] + 1 if pairs and more else None)

        return await self._read(query)  # type: ignore[no-any-return]

    async def list_history(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = PAGE_MAX_BYTES
    ) -> list[HistoryEntry]:
        """Up to `limit` history entries with seq > after_seq, oldest first, within `max_bytes`."""

        async def query(connection: Any) -> list[HistoryEntry]:
            sid, _ = await _resolve(connection, session_id)
            rows, _ = await _rows_within(
                connection,
                "SELECT seq, role, content, agent_name, create_time FROM session_history "
                "WHERE sid = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                [sid, after_seq, limit + 1],
                limit=limit,
                max_bytes=max_bytes,
                size=lambda row: len(row[2]),
            )
            return [HistoryEntry(r[0], Role(r[1]), r[2], r[3], from_micros(r[4])) for r in rows]

        return await self._read(query)  # type: ignore[no-any-return]

    async def list_invocations(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = PAGE_MAX_BYTES
    ) -> list[Invocation]:
        """Up to `limit` invocations with seq > after_seq, oldest first, within `max_bytes`."""

        async def query(connection: Any) -> list[Invocation]:
            sid, _ = await _resolve(connection, session_id)
            rows, _ = await _rows_within(
                connection,
                "SELECT agent_name, query, response, success, duration_ms, error, seq, create_time "
                "FROM session_invocations WHERE sid = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                [sid, after_seq, limit + 1],
                limit=limit,
                max_bytes=max_bytes,
                size=lambda row: len(row[1]) + len(row[2]) + len(row[5]),
            )
            return [
                Invocation(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], from_micros(r[7])) for r in rows
            ]

        return await self._read(query)  # type: ignore[no-any-return]

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
        sql = numbered(
            f"SELECT {columns} FROM sessions s {joins} {where} "  # noqa: S608 - fixed fragments, values bound
            f"ORDER BY {column} DESC, s.session_id DESC LIMIT {int(limit)}"
        )

        async def query(connection: Any) -> list[Session]:
            rows = await connection.fetch(sql, *parameters)
            return [session_from_row(row, with_state=with_state) for row in rows]

        return await self._read(query)  # type: ignore[no-any-return]

    async def get_user_state(self, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state in the app, keys without the prefix; {} when there is none."""

        async def query(connection: Any) -> dict[str, Any]:
            text = await connection.fetchval(
                "SELECT state FROM session_user_state WHERE app_name = $1 AND user_id = $2", app_name, user_id
            )
            return dict(json.loads(text)) if text else {}

        return await self._read(query)  # type: ignore[no-any-return]

    async def append_event(
        self, session_id: SessionRef, event: Event, *, expected_revision: int = 0, request_id: str = ""
    ) -> AppendedEvent:
        """Stores the event and applies its state delta to the three scopes, in one transaction."""
        stored = _storable(event)
        scoped = split_delta(stored.actions.state_delta)
        body = event_to_json(stored)
        request = fingerprint("append_event", str(session_id), body, expected_revision)
        now = to_micros(self._clock())

        async def append(connection: Any) -> AppendedEvent:
            sid, session = await _resolve(connection, session_id, lock=True)
            require_active(session)
            if expected_revision and expected_revision != session.revision:
                raise EtagMismatchError(
                    f"session {session.session_id} is at revision {session.revision}, not "
                    f"{expected_revision}: it changed since it was read; read it again and retry"
                )
            if event.partial:
                return AppendedEvent(event, session.revision)
            seq, revision = await connection.fetchrow(
                "UPDATE sessions SET event_count = event_count + 1, revision = revision + 1, "
                "update_time = $2 WHERE sid = $1 RETURNING event_count, revision",
                sid,
                now,
            )
            await connection.execute(
                "INSERT INTO session_events (sid, seq, timestamp, body) VALUES ($1, $2, $3, $4)",
                sid,
                seq,
                stored.timestamp,
                body,
            )
            await _apply_state(connection, sid, session.app_name, session.user_id, scoped)
            return AppendedEvent(Event(**{**vars(stored), "seq": seq}), revision)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def append_history(
        self, session_id: SessionRef, role: Role, content: str, agent_name: str, *, request_id: str = ""
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        now = self._clock()
        request = fingerprint("append_history", str(session_id), role.value, content, agent_name)

        async def append(connection: Any) -> HistoryEntry:
            sid, session = await _resolve(connection, session_id, lock=True)
            require_active(session)
            seq = await connection.fetchval(
                "UPDATE sessions SET history_count = history_count + 1, update_time = $2 WHERE sid = $1 "
                "RETURNING history_count",
                sid,
                to_micros(now),
            )
            await connection.execute(
                "INSERT INTO session_history (sid, seq, role, content, agent_name, create_time) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                sid,
                seq,
                role.value,
                content,
                agent_name,
                to_micros(now),
            )
            return HistoryEntry(seq, role, content, agent_name, now)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def record_invocation(
        self, session_id: SessionRef, invocation: NewInvocation, *, request_id: str = ""
    ) -> Invocation:
        """Records the invocation; a successful one makes its agent the session's last agent."""
        now = self._clock()
        request = fingerprint("record_invocation", str(session_id), vars(invocation))

        async def record(connection: Any) -> Invocation:
            sid, session = await _resolve(connection, session_id, lock=True)
            require_active(session)
            seq = await connection.fetchval(
                "UPDATE sessions SET invocation_count = invocation_count + 1, update_time = $2, "
                "last_agent_called = CASE WHEN $3 THEN $4 ELSE last_agent_called END, "
                "last_query = CASE WHEN $3 THEN $5 ELSE last_query END, "
                "last_response = CASE WHEN $3 THEN $6 ELSE last_response END "
                "WHERE sid = $1 RETURNING invocation_count",
                sid,
                to_micros(now),
                invocation.success,
                invocation.agent_name,
                invocation.query,
                invocation.response,
            )
            await connection.execute(
                "INSERT INTO session_invocations (sid, seq, agent_name, query, response, success, "
                "duration_ms, error, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                sid,
                seq,
                invocation.agent_name,
                invocation.query,
                invocation.response,
                int(invocation.success),
                invocation.duration_ms,
                invocation.error,
                to_micros(now),
            )
            return Invocation(**vars(invocation), seq=seq, create_time=now)

        return await self._write(record, request_id, request)  # type: ignore[no-any-return]

    async def set_last_agent(
        self, session_id: SessionRef, agent_name: str, query: str, response: str
    ) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        now = to_micros(self._clock())

        async def update(connection: Any) -> None:
            sid, _ = await _resolve(connection, session_id)
            await connection.execute(
                "UPDATE sessions SET last_agent_called = $2, last_query = $3, last_response = $4, "
                "update_time = $5 WHERE sid = $1",
                sid,
                agent_name,
                query,
                response,
                now,
            )

        await self._write(update)

    async def update_status(
        self, session_id: SessionRef, status: SessionStatus, *, request_id: str = ""
    ) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        now = self._clock()

        async def update(connection: Any) -> Session:
            sid, current = await _resolve(connection, session_id, lock=True)
            if current.status is status:
                return current
            require_active(current)
            await connection.execute(
                "UPDATE sessions SET status = $2, update_time = $3 WHERE sid = $1",
                sid,
                status.value,
                to_micros(now),
            )
            return Session(**{**vars(current), "status": status, "update_time": now})

        request = fingerprint("update_status", str(session_id), status.value)
        return await self._write(update, request_id, request)  # type: ignore[no-any-return]

    async def delete_session(self, session_id: SessionRef, *, request_id: str = "") -> None:
        """Deletes the session with everything it holds; raises NotFoundError."""

        async def delete(connection: Any) -> None:
            sid, _ = await _resolve(connection, session_id)
            await connection.execute("DELETE FROM sessions WHERE sid = $1", sid)

        await self._write(delete, request_id, fingerprint("delete", str(session_id)))

    async def agent_stats(
        self, user_id: str, start: datetime | None, end: datetime | None
    ) -> list[AgentStats]:
        """Per-agent statistics of the invocations in [start, end), computed by PostgreSQL."""
        conditions, parameters = [], []
        join = ""
        if user_id:
            join = "JOIN sessions s ON s.sid = i.sid"
            conditions.append("s.user_id = ?")
            parameters.append(user_id)
        for condition, moment in (("i.create_time >= ?", start), ("i.create_time < ?", end)):
            if moment is not None:
                conditions.append(condition)
                parameters.append(to_micros(moment))  # type: ignore[arg-type]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = numbered(
            "SELECT i.agent_name, count(*), sum(i.success), "  # noqa: S608 - fixed fragments, values bound
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY i.duration_ms), "
            "percentile_disc(0.95) WITHIN GROUP (ORDER BY i.duration_ms) "
            f"FROM session_invocations i {join} {where} "
            "GROUP BY i.agent_name ORDER BY count(*) DESC, i.agent_name"
        )

        async def query(connection: Any) -> list[Any]:
            return list(await connection.fetch(sql, *parameters))

        return stats_from_rows(await self._read(query))

    async def purge_expired(self, updated_before: datetime) -> int:
        """Deletes closed sessions last updated before `updated_before` (and old request ids), in batches."""
        cutoff = to_micros(updated_before)
        request_cutoff = to_micros(self._clock() - REQUEST_ID_RETENTION)

        async def purge_batch(connection: Any) -> int:
            status = await connection.execute(
                "DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions "
                "WHERE status IN ('COMPLETED', 'ABANDONED') AND update_time < $1 LIMIT $2)",
                cutoff,
                PURGE_BATCH,
            )
            await connection.execute(
                "DELETE FROM session_request_log WHERE request_id IN (SELECT request_id "
                "FROM session_request_log WHERE create_time < $1 LIMIT $2)",
                request_cutoff,
                PURGE_BATCH,
            )
            return int(status.rsplit(" ", 1)[-1])

        purged = 0
        while True:
            removed = int(await self._write(purge_batch))
            purged += removed
            if removed < PURGE_BATCH:
                return purged


async def _resolve(
    connection: Any, ref: SessionRef, *, with_state: bool = False, lock: bool = False
) -> tuple[int, Session]:
    """(sid, session) of the one session the reference names; `lock` holds its row to the end of the
    transaction, so concurrent writers of one session (on any instance) take turns."""
    key = as_key(ref)
    conditions, parameters = ["s.session_id = ?"], [key.session_id]
    for column, value in (("s.app_name", key.app_name), ("s.user_id", key.user_id)):
        if value:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
    joins = STATE_JOINS if with_state else ""
    sql = numbered(
        f"SELECT {columns} FROM sessions s {joins} WHERE {' AND '.join(conditions)} LIMIT 2"  # noqa: S608
        + (" FOR UPDATE OF s" if lock else "")
    )
    rows = await connection.fetch(sql, *parameters)
    if not rows:
        raise not_found(key.session_id)
    if len(rows) > 1:
        raise InvalidStateError(
            f"several sessions have id {key.session_id!r}; give app_name and user_id to name one"
        )
    return int(rows[0][0]), session_from_row(rows[0], with_state=with_state)


async def _apply_state(connection: Any, sid: int, app_name: str, user_id: str, scoped: ScopedDelta) -> None:
    """Applies a state delta to the session's, the user's and the app's state rows (locked while read)."""
    targets = (
        (scoped.session, "session_state", ("sid",), (sid,)),
        (scoped.user, "session_user_state", ("app_name", "user_id"), (app_name, user_id)),
        (scoped.app, "session_app_state", ("app_name",), (app_name,)),
    )
    for delta, table, key_columns, keys in targets:
        if not delta:
            continue
        where = " AND ".join(f"{column} = ${n}" for n, column in enumerate(key_columns, start=1))
        columns = ", ".join(key_columns)
        placeholders = ", ".join(f"${n}" for n in range(1, len(key_columns) + 2))
        # Make sure the row exists, then lock it, so concurrent deltas from any instance merge in turn.
        await connection.execute(
            f"INSERT INTO {table} ({columns}, state) VALUES ({placeholders}) ON CONFLICT DO NOTHING",  # noqa: S608
            *keys,
            "{}",
        )
        text = await connection.fetchval(f"SELECT state FROM {table} WHERE {where} FOR UPDATE", *keys)  # noqa: S608
        state = json.loads(text) if text else {}
        state.update(delta)
        await connection.execute(
            f"UPDATE {table} SET state = ${len(keys) + 1} WHERE {where}",  # noqa: S608
            *keys,
            json.dumps(state, ensure_ascii=False),
        )


async def _once(
    connection: Any, request_id: str, request_fingerprint: str, now: int, operation: Callable[[Any], Any]
) -> Any:
    """Runs `operation` unless `request_id` was applied before (by any instance): then its first result."""
    if not request_id:
        return await operation(connection)
    claimed = await connection.fetchval(
        "INSERT INTO session_request_log (request_id, fingerprint, result, create_time) "
        "VALUES ($1, $2, '', $3) ON CONFLICT DO NOTHING RETURNING 1",
        request_id,
        request_fingerprint,
        now,
    )
    if claimed is None:
        row = await connection.fetchrow(
            "SELECT fingerprint, result FROM session_request_log WHERE request_id = $1", request_id
        )
        if row[0] != request_fingerprint:
            raise ValidationError.single(
                "request_id", "was already used for a different request; use a new id for each request"
            )
        return decode_result(row[1])
    result = await operation(connection)
    await connection.execute(
        "UPDATE session_request_log SET result = $2 WHERE request_id = $1", request_id, encode_result(result)
    )
    return result


async def _rows_within(
    connection: Any,
    sql: str,
    parameters: list[Any],
    *,
    limit: int,
    max_bytes: int,
    size: Callable[[Any], int],
) -> tuple[list[Any], bool]:
    """Up to `limit` rows while their size stays within `max_bytes` (at least one), read through a
    cursor so rows past the budget are never fetched; and whether rows were left."""
    rows: list[Any] = []
    total = 0
    cursor = await connection.cursor(sql, *parameters)
    while batch := await cursor.fetch(READ_BATCH):
        for row in batch:
            total += size(row) + ROW_OVERHEAD_BYTES
            if len(rows) >= limit or (rows and total > max_bytes):
                return rows, True
            rows.append(row)
    return rows, False
