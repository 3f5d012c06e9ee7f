"""The SQLite session store's reads, each from one snapshot."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiosqlite

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
from registry_server.sessions.sqlite_connections import SqliteConnections
from registry_server.sessions.sqlite_rows import from_micros, resolve, session_from_row, sessions_page_sql

FIRST_FETCH_ROWS = 32
MAX_FETCH_ROWS = 512


class SqliteSessionReads(SqliteConnections):
    """Sessions, their events, history, invocations and user state, read from the reader pool."""

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
            first = start_seq or first_seq(session.event_count, event_filter.num_recent)
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
        page_sql, parameters = sessions_page_sql(session_filter, before, order, with_state=with_state)
        sql = f"{page_sql} LIMIT ?"

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
