"""GetSessionStats over 1,000,000 invocations, and the longest event-loop stall a health prober sees
meanwhile. `python -m bench.session_stats` prints JSON."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentregistry.v1 import session_service_pb2 as pb
from agentregistry.v1 import session_service_pb2_grpc
from bench.processes import start_server
from registry_server.sessions.sqlite_store import SESSIONS_FILE_NAME, SqliteSessionStore

INVOCATIONS = 1_000_000
SESSIONS = 1_000


def seed(data_dir: Path) -> None:
    """1,000 sessions holding 1,000,000 invocations of 20 agents, written straight into sessions.db."""
    path = data_dir / SESSIONS_FILE_NAME

    async def create_schema() -> None:
        await (await SqliteSessionStore(path).open()).close()

    asyncio.run(create_schema())
    rng = random.Random(7)
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO sessions (app_name, user_id, session_id, status, create_time, update_time, "
            "invocation_count) VALUES ('default', ?, ?, 'ACTIVE', 0, 0, ?)",
            ((f"user{n % 50}", f"s{n}", INVOCATIONS // SESSIONS) for n in range(SESSIONS)),
        )
        connection.executemany(
            "INSERT INTO invocations VALUES (?, ?, ?, 'q', 'r', ?, ?, '', ?)",
            (
                (n % SESSIONS + 1, n // SESSIONS + 1, f"agent_{n % 20}", int(rng.random() < 0.9),
                 rng.randrange(1, 2000), n)
                for n in range(INVOCATIONS)
            ),
        )  # fmt: skip


async def measure(target: str) -> dict[str, Any]:
    """Stats call time (median of 3, for everyone and for one user) and the prober's longest wait."""
    async with aio.insecure_channel(target) as channel, aio.insecure_channel(target) as probe_channel:
        sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        health = health_pb2_grpc.HealthStub(probe_channel)
        longest = 0.0
        stop = asyncio.Event()

        async def probe() -> None:
            nonlocal longest
            while not stop.is_set():
                started = time.perf_counter()
                await health.Check(health_pb2.HealthCheckRequest())
                longest = max(longest, time.perf_counter() - started)
                await asyncio.sleep(0.005)

        prober = asyncio.create_task(probe())
        timings = {}
        for label, request in (("everyone", pb.GetSessionStatsRequest()),
                               ("one_user", pb.GetSessionStatsRequest(user_id="user7"))):  # fmt: skip
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                response = await sessions.GetSessionStats(request, timeout=120)
                samples.append((time.perf_counter() - started) * 1000)
            timings[label] = round(sorted(samples)[1], 1)
        total = response.total_invocations
        stop.set()
        await prober
    return {
        "invocations": INVOCATIONS,
        "get_session_stats_ms": timings,
        "one_user_counted": total,
        "longest_health_check_ms_during": round(longest * 1000, 1),
        "stall_target": "<= 50 ms",
        "stall_pass": longest * 1000 <= 50,
    }


def main() -> None:
    """Seeds, starts the server, measures, prints JSON."""
    with tempfile.TemporaryDirectory(prefix="agent-registry-stats-bench-") as temporary:
        data_dir = Path(temporary)
        seed(data_dir)
        server = start_server(data_dir)
        try:
            result = asyncio.run(measure(server.target))
        finally:
            server.stop()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
