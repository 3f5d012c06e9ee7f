"""The SQLite session store's statistics and retention."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import aiosqlite

from registry_server.domain.session import AgentStats
from registry_server.sessions.orphan_sweep import SQLITE_MARK, orphaned_agent_sessions_sql
from registry_server.sessions.request_log import REQUEST_ID_RETENTION
from registry_server.sessions.sqlite_connections import SqliteConnections
from registry_server.sessions.sqlite_rows import to_micros
from registry_server.sessions.stats_sql import (
    QUANTILES,
    agent_stats_query,
    nearest_rank_offset,
    stats_from_rows,
)

PURGE_BATCH = 200
_ORPHANS = orphaned_agent_sessions_sql(SQLITE_MARK)


class SqliteSessionMaintenance(SqliteConnections):
    """Per-agent statistics and the purge of expired sessions."""

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
        """Deletes closed sessions last updated before `updated_before`, agents' sessions whose routed session
        is gone, and request ids past their retention, in batches; returns how many sessions."""
        cutoff = to_micros(updated_before)
        request_cutoff = to_micros(self._clock() - REQUEST_ID_RETENTION)

        def purge_batch(connection: sqlite3.Connection) -> tuple[int, int]:
            cursor = connection.execute(
                "DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions "
                "WHERE status IN ('COMPLETED', 'ABANDONED') AND update_time < ? LIMIT ?)",
                (cutoff, PURGE_BATCH),
            )
            orphans = connection.execute(_ORPHANS, (PURGE_BATCH,))
            connection.execute(
                "DELETE FROM request_log WHERE request_id IN (SELECT request_id FROM request_log "
                "WHERE create_time < ? LIMIT ?)",
                (request_cutoff, PURGE_BATCH),
            )
            return max(int(cursor.rowcount), int(orphans.rowcount)), int(cursor.rowcount + orphans.rowcount)

        purged = 0
        while True:
            batch: tuple[int, int] = await self._write(purge_batch)
            largest, removed = batch
            purged += removed
            if largest < PURGE_BATCH:
                return purged
