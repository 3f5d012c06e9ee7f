"""Physical references measured in the same run, so targets are ratios a noisy machine cannot flip.

- a bare grpc.aio echo server (bench/echo_server.py): sequential p50, and throughput at 32 and 64 in flight;
- fsync p50 of a 4 KiB write on the data dir's file system;
- one aiosqlite insert + commit (WAL, synchronous=FULL, as the session store uses it).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

import aiosqlite

from bench.processes import run_load, start_echo_server

FSYNC_SAMPLES = 300
SQLITE_SAMPLES = 300


def echo_references() -> dict[str, float]:
    """The echo server's sequential p50 (ms) and its throughput (calls/s) at 32 and 64 in flight."""
    echo = start_echo_server()
    try:
        latency = run_load(
            {
                "target": echo.target,
                "kind": "latency",
                "call": "get_agent",
                "count": 2000,
                "params": {"agent": "x"},
            }
        )
        rates = {
            concurrency: statistics.median(
                run_load(
                    {
                        "target": echo.target,
                        "kind": "throughput",
                        "call": "get_agent",
                        "concurrency": concurrency,
                        "duration_s": 2,
                        "warmup": 200,
                        "params": {"agent": "x"},
                    }
                )["rate"]
                for _ in range(3)
            )
            for concurrency in (32, 64)
        }
    finally:
        echo.stop()
    return {"echo_p50_ms": latency["p50"], "echo_rate_32": rates[32], "echo_rate_64": rates[64]}


def fsync_p50_ms(directory: Path) -> float:
    """The median time of writing 4 KiB and fsyncing it, in `directory`'s file system."""
    path = directory / "fsync-probe"
    block = os.urandom(4096)
    samples = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(FSYNC_SAMPLES):
            started = time.perf_counter()
            os.write(descriptor, block)
            os.fsync(descriptor)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(descriptor)
        path.unlink()
    return statistics.median(samples)


async def _sqlite_commit_samples(path: Path) -> list[float]:
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        await db.commit()
        samples = []
        for n in range(SQLITE_SAMPLES):
            started = time.perf_counter()
            await db.execute("INSERT INTO probe (body) VALUES (?)", (f"row {n}",))
            await db.commit()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def sqlite_commit_p50_ms(directory: Path) -> float:
    """The median time of one aiosqlite INSERT and COMMIT in `directory`."""
    path = directory / "commit-probe.db"
    try:
        return statistics.median(asyncio.run(_sqlite_commit_samples(path)))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure(data_dir_parent: Path) -> dict[str, Any]:
    """Every reference, rounded for the report."""
    references: dict[str, Any] = dict(echo_references())
    references["fsync_p50_ms"] = fsync_p50_ms(data_dir_parent)
    references["sqlite_insert_commit_p50_ms"] = sqlite_commit_p50_ms(data_dir_parent)
    return {key: round(value, 4 if key.endswith("ms") else 0) for key, value in references.items()}
