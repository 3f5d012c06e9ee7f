"""ADK session services side by side: RegistrySessionService (through a real server) against ADK's own
SqliteSessionService and DatabaseSessionService (SQLite), on this machine in this run; plus AppendEvent's
latency and throughput as ratios to the echo server and fsync. Prints one JSON document.

`python -m bench.sessions_adk` (about two minutes). Medians throughout; targets are ratios.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.genai import types
from grpc import aio

from agent_registry_client.adk import RegistrySessionService
from agent_registry_client.session_models import SessionEvent
from agent_registry_client.sessions import SessionClient
from agentregistry.v1 import (
    registry_service_pb2,
    registry_service_pb2_grpc,
    session_pb2,
    session_service_pb2_grpc,
)
from agentregistry.v1 import session_service_pb2 as pb
from bench.processes import Child, start_echo_server, start_server

APP = "bench_app"
WRITERS = 64
APPENDS_PER_WRITER = 20
SEQUENTIAL_APPENDS = 300


def event(number: int) -> Event:
    """An ordinary model event with a small state delta."""
    return Event(
        invocation_id="inv",
        author="bench_agent",
        content=types.Content(role="model", parts=[types.Part(text=f"answer number {number} " * 8)]),
        actions=EventActions(state_delta={"turn": number}),
    )


async def timed(action: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median milliseconds of `repeat` runs of `action`."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def append_rates(service: BaseSessionService) -> dict[str, Any]:
    """append_event throughput with 1 writer, and with 64 writers on 64 sessions (errors counted)."""
    session = await service.create_session(app_name=APP, user_id="solo")
    started = time.perf_counter()
    for number in range(SEQUENTIAL_APPENDS):
        await service.append_event(session, event(number))
    one = SEQUENTIAL_APPENDS / (time.perf_counter() - started)
    sessions = [await service.create_session(app_name=APP, user_id=f"w{i}") for i in range(WRITERS)]
    errors = 0

    async def writer(index: int) -> None:
        nonlocal errors
        for number in range(APPENDS_PER_WRITER):
            try:
                await service.append_event(sessions[index], event(number))
            except Exception:  # ADK's services report "database is locked" this way; count them
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(WRITERS)))
    elapsed = time.perf_counter() - started
    succeeded = WRITERS * APPENDS_PER_WRITER - errors
    return {"writes_per_s_1": round(one), "writes_per_s_64": round(succeeded / elapsed), "errors_64": errors}


READ_ROUNDS = 20
Read = Callable[[], Awaitable[Any]]


async def reader_session(service: BaseSessionService) -> Read:
    """A 1,000-event session in `service`, and the get_session call that reads it."""
    session = await service.create_session(app_name=APP, user_id="reader")
    for number in range(1000):
        await service.append_event(session, event(number))
    return lambda: service.get_session(app_name=APP, user_id="reader", session_id=session.id)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) used so far by this process, or by the process `pid`."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def interleaved_medians(
    reads: dict[str, Read], server_pid: dict[str, int]
) -> tuple[dict[str, float], dict[str, float]]:
    """Median milliseconds of each read, taken in turns so that a busy spell of this shared machine weighs on
    every figure alike; and each read's mean CPU milliseconds (its server's included, for a read named in
    `server_pid`), which other work on the machine hardly moves."""
    samples: dict[str, list[float]] = {name: [] for name in reads}
    cpu = dict.fromkeys(reads, 0.0)
    for _ in range(READ_ROUNDS):
        for name, read in reads.items():
            pid = server_pid.get(name)
            cpu_before = cpu_seconds() + (cpu_seconds(pid) if pid else 0.0)
            started = time.perf_counter()
            await read()
            samples[name].append((time.perf_counter() - started) * 1000)
            cpu[name] += cpu_seconds() + (cpu_seconds(pid) if pid else 0.0) - cpu_before
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return medians, {name: seconds * 1000 / READ_ROUNDS for name, seconds in cpu.items()}


async def registry_only_figures(target: str) -> dict[str, Any]:
    """What only the registry can do fast: recent events of a long session, and a first page of many."""
    async with SessionClient(target, timeout=60) as client:
        service = RegistrySessionService(client=client)
        long = await client.create_session("long", app_name=APP, session_id="long")
        short = await client.create_session("short", app_name=APP, session_id="short")
        body = SessionEvent(author="bench_agent", timestamp=1.0, content={"parts": [{"text": "x" * 200}]})
        await _concurrently(lambda _: client.append_event("long", body, app_name=APP, user_id="long"), 10_000)
        await _concurrently(lambda _: client.append_event("short", body, app_name=APP, user_id="short"), 20)
        recent = GetSessionConfig(num_recent_events=20)
        long_ms = await timed(
            lambda: service.get_session(
                app_name=APP, user_id="long", session_id=long.session_id, config=recent
            ),
            20,
        )
        short_ms = await timed(
            lambda: service.get_session(
                app_name=APP, user_id="short", session_id=short.session_id, config=recent
            ),
            20,
        )
        await _concurrently(
            lambda i: client.create_session("many", app_name="many_app", state={"n": i}), 10_000
        )
        first_page_ms = await timed(
            lambda: client.list_sessions(
                app_name="many_app", user_id="many", page_size=50, by_update_time=True, include_state=True
            ),
            20,
        )
    return {
        "recent_20_of_10000_events_ms": round(long_ms, 3),
        "recent_20_of_20_events_ms": round(short_ms, 3),
        "recent_ratio": round(long_ms / short_ms, 3),
        "recent_target": "<= 2x the 20-event session",
        "recent_pass": long_ms <= 2 * short_ms,
        "list_sessions_first_page_of_10000_ms": round(first_page_ms, 3),
    }


async def _concurrently(call: Callable[[int], Awaitable[Any]], count: int, width: int = 64) -> None:
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await call(number)

    await asyncio.gather(*(worker() for _ in range(width)))


async def wire_ratios(target: str, echo_target: str, fsync_ms: float) -> dict[str, Any]:
    """Sequential AppendEvent p50 against echo p50 + fsync p50 + 0.4 ms, and 64 in flight against echo's."""
    async with aio.insecure_channel(echo_target) as echo_channel, aio.insecure_channel(target) as channel:
        echo = registry_service_pb2_grpc.RegistryServiceStub(echo_channel)
        sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        echo_request = registry_service_pb2.GetAgentRequest(name="x")
        created = await sessions.CreateSession(pb.CreateSessionRequest(user_id="wire", app_name=APP))
        ids = [created.session.session_id]
        ids += [
            (
                await sessions.CreateSession(pb.CreateSessionRequest(user_id="wire", app_name=APP))
            ).session.session_id
            for _ in range(15)
        ]
        counter = iter(range(10**9))

        def append() -> Awaitable[Any]:
            number = next(counter)
            return sessions.AppendEvent(
                pb.AppendEventRequest(
                    session_id=ids[number % len(ids)],
                    app_name=APP,
                    user_id="wire",
                    event=session_pb2.Event(
                        author="bench", timestamp=float(number), content_json='{"parts":[]}'
                    ),
                    request_id=f"wire-{number}",
                )
            )

        echo_p50 = await timed(lambda: echo.GetAgent(echo_request), 1000)
        append_p50 = await timed(append, 1000)
        echo_rate = await _rate(lambda: echo.GetAgent(echo_request), 64, 20_000)
        append_rate = await _rate(append, 64, 10_000)
    bound = echo_p50 + fsync_ms + 0.4
    return {
        "echo_p50_ms": round(echo_p50, 4),
        "fsync_p50_ms": round(fsync_ms, 4),
        "append_event_p50_ms": round(append_p50, 4),
        "append_event_p50_target_ms": round(bound, 4),
        "append_event_p50_pass": append_p50 <= bound,
        "echo_rate_64": round(echo_rate),
        "append_event_rate_64": round(append_rate),
        "append_event_rate_ratio": round(append_rate / echo_rate, 3),
        "append_event_rate_target": ">= 0.6x echo at 64 in flight",
        "append_event_rate_pass": append_rate >= 0.6 * echo_rate,
    }


async def _rate(call: Callable[[], Awaitable[Any]], width: int, count: int) -> float:
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return count / (time.perf_counter() - started)


def fsync_p50_ms(directory: Path) -> float:
    """Median of 200 fsyncs of a 4 KiB append in `directory`."""
    path = directory / "fsync-probe"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    samples = []
    try:
        for _ in range(200):
            os.write(descriptor, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(descriptor)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(descriptor)
        path.unlink()
    return statistics.median(samples)


async def measure(work: Path, server: Child, echo: Child) -> dict[str, Any]:
    """Every figure, in one run."""
    registry = RegistrySessionService(target=server.target, timeout=60)
    sqlite_service = SqliteSessionService(str(work / "adk-sqlite.db"))
    database = DatabaseSessionService(f"sqlite+aiosqlite:///{work / 'adk-database.db'}")
    names = {
        "RegistrySessionService": registry,
        "ADK SqliteSessionService": sqlite_service,
        "ADK DatabaseSessionService (SQLite)": database,
    }
    services = [{"service": name, **(await append_rates(service))} for name, service in names.items()]
    reads = {name: await reader_session(service) for name, service in names.items()}
    read_ms, read_cpu_ms = await interleaved_medians(reads, {"RegistrySessionService": server.process.pid})
    await registry.close()
    for figures in services:
        figures["get_session_1000_events_ms"] = round(read_ms[figures["service"]], 3)
        figures["get_session_1000_events_cpu_ms"] = round(read_cpu_ms[figures["service"]], 1)
    ours, adk_sqlite, adk_database = services
    best_cpu = min(
        adk_sqlite["get_session_1000_events_cpu_ms"], adk_database["get_session_1000_events_cpu_ms"]
    )
    best_rate = max(adk_sqlite["writes_per_s_64"], adk_database["writes_per_s_64"])
    best_read = min(adk_sqlite["get_session_1000_events_ms"], adk_database["get_session_1000_events_ms"])
    return {
        "services": services,
        "append_64_ratio_to_adk_best": round(ours["writes_per_s_64"] / best_rate, 3),
        "append_64_target": ">= 2x ADK's best",
        "append_64_pass": ours["writes_per_s_64"] >= 2 * best_rate,
        "get_1000_ratio_to_adk_best": round(ours["get_session_1000_events_ms"] / best_read, 3),
        "get_1000_target": "<= 0.5x ADK's best",
        "get_1000_pass": ours["get_session_1000_events_ms"] <= 0.5 * best_read,
        "get_1000_cpu_ratio_to_adk_best": round(ours["get_session_1000_events_cpu_ms"] / best_cpu, 3),
        **(await registry_only_figures(server.target)),
        **(await wire_ratios(server.target, echo.target, fsync_p50_ms(work))),
    }


def main() -> None:
    """Starts the server and the echo server, measures, prints JSON."""
    with tempfile.TemporaryDirectory(prefix="agent-registry-adk-bench-") as temporary:
        work = Path(temporary)
        data_dir = work / "data"
        data_dir.mkdir()
        server, echo = start_server(data_dir), start_echo_server()
        try:
            result = asyncio.run(measure(work, server, echo))
        finally:
            server.stop()
            echo.stop()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
