"""GetSessionStats in SQL: counts and nearest-rank percentiles per agent, so no row reaches Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry_server.domain.session import AgentStats

# ceil(q * n) in integer arithmetic: the nearest rank of quantile q among n sorted durations.
_STATS_SQL = """
WITH picked AS (
    SELECT i.agent_name, i.success, i.duration_ms FROM invocations i {join} {where}
), ranked AS (
    SELECT agent_name, duration_ms,
        ROW_NUMBER() OVER (PARTITION BY agent_name ORDER BY duration_ms) AS rank,
        COUNT(*) OVER (PARTITION BY agent_name) AS total,
        SUM(success) OVER (PARTITION BY agent_name) AS successes
    FROM picked
)
SELECT agent_name, total, successes,
    MAX(CASE WHEN rank = MAX(1, (total * 50 + 99) / 100) THEN duration_ms END) AS p50,
    MAX(CASE WHEN rank = MAX(1, (total * 95 + 99) / 100) THEN duration_ms END) AS p95
FROM ranked
GROUP BY agent_name
ORDER BY total DESC, agent_name
"""


def agent_stats_query(
    user_id: str, start_micros: int | None, end_micros: int | None
) -> tuple[str, list[Any]]:
    """The statistics query and its parameters for one user (or everyone) over [start, end)."""
    conditions: list[str] = []
    parameters: list[Any] = []
    join = ""
    if user_id:
        join = "JOIN sessions s ON s.sid = i.sid"
        conditions.append("s.user_id = ?")
        parameters.append(user_id)
    if start_micros is not None:
        conditions.append("i.create_time >= ?")
        parameters.append(start_micros)
    if end_micros is not None:
        conditions.append("i.create_time < ?")
        parameters.append(end_micros)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return _STATS_SQL.format(join=join, where=where), parameters


def stats_from_rows(rows: Sequence[Sequence[Any]]) -> list[AgentStats]:
    """One AgentStats per row of the statistics query."""
    return [
        AgentStats(
            agent_name=str(name),
            invocations=int(total),
            successes=int(successes),
            failures=int(total) - int(successes),
            p50_duration_ms=float(p50),
            p95_duration_ms=float(p95),
        )
        for name, total, successes, p50, p95 in rows
    ]
