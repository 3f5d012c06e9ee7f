"""The PostgreSQL session store's reads, each in one read-only snapshot."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from registry_server.domain.session import (
    EventFilter,
    EventPage,
    HistoryEntry,
    Invocation,
    Role,
    Session,
    SessionFilter,
    SessionOrder,
    SessionRef,
    StoredEventPage,
)
from registry_server.sessions.event_codec import records_page
from registry_server.sessions.paging import PAGE_MAX_BYTES, ROW_OVERHEAD_BYTES, first_seq
from registry_server.sessions.postgres_connections import PostgresConnections
from registry_server.sessions.postgres_rows import STATE_JOINS, numbered, resolve
from registry_server.sessions.sqlite_rows import from_micros, session_from_row, sessions_page_sql

READ_BATCH = 32


class PostgresSessionReads(PostgresConnections):
    """Sessions, their events, history, invocations and user state."""

    async def get_session(self, session_id: SessionRef, *, with_state: bool = False) -> Session:
        """The session's summary (with its merged state when asked); raises NotFoundError."""

        async def query(connection: Any) -> Session:
            return (await resolve(connection, session_id, with_state=with_state))[1]

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
            sid, session = await resolve(connection, session_id, with_state=True)
            first = start_seq or first_seq(session.event_count, event_filter.num_recent)
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
            sid, _ = await resolve(connection, session_id)
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
            sid, _ = await resolve(connection, session_id)
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
        page_sql, parameters = sessions_page_sql(
            session_filter, before, order, with_state=with_state, state_joins=STATE_JOINS
        )
        sql = numbered(f"{page_sql} LIMIT {int(limit)}")

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
