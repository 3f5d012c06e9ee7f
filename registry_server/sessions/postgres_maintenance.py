"""The PostgreSQL session store's statistics and retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry_server.domain.session import AgentStats
from registry_server.sessions.orphan_sweep import POSTGRES_MARK, orphaned_agent_sessions_sql
from registry_server.sessions.postgres_connections import PostgresConnections
from registry_server.sessions.postgres_rows import numbered
from registry_server.sessions.request_log import REQUEST_ID_RETENTION
from registry_server.sessions.sqlite_rows import to_micros
from registry_server.sessions.stats_sql import stats_from_rows

PURGE_BATCH = 200
_ORPHANS = numbered(orphaned_agent_sessions_sql(POSTGRES_MARK))


class PostgresSessionMaintenance(PostgresConnections):
    """Per-agent statistics and the purge of expired sessions."""

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
        """Deletes closed sessions last updated before `updated_before`, agents' sessions whose routed session
        is gone, and old request ids, in batches; returns how many sessions."""
        cutoff = to_micros(updated_before)
        request_cutoff = to_micros(self._clock() - REQUEST_ID_RETENTION)

        async def purge_batch(connection: Any) -> tuple[int, int]:
            status = await connection.execute(
                "DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions "
                "WHERE status IN ('COMPLETED', 'ABANDONED') AND update_time < $1 LIMIT $2)",
                cutoff,
                PURGE_BATCH,
            )
            orphans = await connection.execute(_ORPHANS, PURGE_BATCH)
            await connection.execute(
                "DELETE FROM session_request_log WHERE request_id IN (SELECT request_id "
                "FROM session_request_log WHERE create_time < $1 LIMIT $2)",
                request_cutoff,
                PURGE_BATCH,
            )
            expired, orphaned = int(status.rsplit(" ", 1)[-1]), int(orphans.rsplit(" ", 1)[-1])
            return max(expired, orphaned), expired + orphaned

        purged = 0
        while True:
            batch: tuple[int, int] = await self._write(purge_batch)
            largest, removed = batch
            purged += removed
            if largest < PURGE_BATCH:
                return purged
