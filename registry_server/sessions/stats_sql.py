"""GetSessionStats in SQL: per-agent counts, then each nearest-rank percentile read at its offset along the
(agent_name, duration_ms, ...) index, so no invocation row reaches Python and nothing is sorted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from registry_server.domain.session import AgentStats

QUANTILES = (0.50, 0.95)


@dataclass(frozen=True)
class StatsQuery:
    """The SQL of the counts and of one percentile, with the filters' parameters."""

    counts_sql: str
    percentile_sql: str
    parameters: list[Any]


def agent_stats_query(user_id: str, start_micros: int | None, end_micros: int | None) -> StatsQuery:
    """The statistics queries for one user (or everyone) over [start, end)."""
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
    where = " AND ".join(conditions) or "1"
    return StatsQuery(
        counts_sql=(
            f"SELECT i.agent_name, count(*), sum(i.success) FROM invocations i {join} "  # noqa: S608
            f"WHERE {where} GROUP BY i.agent_name"
        ),
        percentile_sql=(
            f"SELECT i.duration_ms FROM invocations i INDEXED BY invocations_by_agent {join} "  # noqa: S608
            f"WHERE i.agent_name = ? AND {where} ORDER BY i.duration_ms LIMIT 1 OFFSET ?"
        ),
        parameters=parameters,
    )


def nearest_rank_offset(quantile: float, count: int) -> int:
    """The 0-based offset of the nearest-rank quantile among `count` sorted values."""
    return max(0, math.ceil(quantile * count) - 1)


def stats_from_rows(rows: Sequence[Sequence[Any]]) -> list[AgentStats]:
    """One AgentStats per (agent, count, successes, p50, p95) row, most invoked first."""
    stats = [
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
    return sorted(stats, key=lambda s: (-s.invocations, s.agent_name))
