"""AppendEvent against the physical references, in rounds that alternate the two servers so that a noisy
machine moves both sides of each ratio alike: sequential p50 against echo p50 + fsync p50 + 0.4 ms, and
throughput with 64 in flight against the echo server's with 64 in flight. It also prints each server's CPU
time per call at 64 in flight (from /proc, so Linux only): on a shared machine that moves less than rates.

`python -m bench.append_event [rounds]` (about 20 s a round) prints one JSON document of medians.
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

from grpc import aio

from agentregistry.v1 import (
    registry_service_pb2,
    registry_service_pb2_grpc,
    session_pb2,
    session_service_pb2_grpc,
)
from agentregistry.v1 import session_service_pb2 as pb
from bench.processes import Child, start_echo_server, start_server

APP = "bench_app"
SESSIONS = 16
IN_FLIGHT = 64
SEQUENTIAL_CALLS = 500
ECHO_CONCURRENT_CALLS = 10_000
APPEND_CONCURRENT_CALLS = 5_000
DEFAULT_ROUNDS = 5

Call = Callable[[], Awaitable[Any]]


async def p50_ms(call: Call, count: int) -> float:
    """Median milliseconds of `count` sequential calls."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def rate(call: Call, width: int, count: int) -> float:
    """Calls per second with `width` callers in flight, over `count` calls."""
    remaining = count

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(width)))
    return count / (time.perf_counter() - started)


async def append_call(channel: aio.Channel, prefix: str) -> Call:
    """An AppendEvent of a small event with a state delta, round-robin over a few sessions, each with its
    own request id (so every call is a real write, as the client library makes them)."""
    sessions = session_service_pb2_grpc.SessionServiceStub(channel)
    created = [
        await sessions.CreateSession(pb.CreateSessionRequest(user_id="wire", app_name=APP))
        for _ in range(SESSIONS)
    ]
    ids = [response.session.session_id for response in created]
    counter = iter(range(10**9))

    def append() -> Awaitable[Any]:
        number = next(counter)
        call: Awaitable[Any] = sessions.AppendEvent(
            pb.AppendEventRequest(
                session_id=ids[number % SESSIONS],
                app_name=APP,
                user_id="wire",
                event=session_pb2.Event(
                    author="bench_agent",
                    invocation_id="inv",
                    timestamp=float(number),
                    content_json=f'{{"role":"model","parts":[{{"text":"answer number {number}"}}]}}',
                    actions=session_pb2.EventActions(state_delta_json=f'{{"turn":{number}}}'),
                ),
                request_id=f"{prefix}-{number}",
            )
        )
        return call

    return append


def echo_call(channel: aio.Channel) -> Call:
    """The echo server's GetAgent, the reference every gRPC server pays."""
    echo = registry_service_pb2_grpc.RegistryServiceStub(channel)
    request = registry_service_pb2.GetAgentRequest(name="x")
    return lambda: echo.GetAgent(request)


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_per_call_us(pid: int, action: Call, width: int, count: int) -> tuple[float, float]:
    """(calls/s, server CPU microseconds per call) of `count` calls with `width` in flight."""
    before = cpu_seconds(pid)
    calls_per_s = await rate(action, width, count)
    return calls_per_s, (cpu_seconds(pid) - before) * 1e6 / count


async def wire_figures(server: Child, echo_server: Child, fsync_ms: float, rounds: int) -> dict[str, Any]:
    """Every figure, as medians over `rounds` rounds that each measure echo, then AppendEvent."""
    target, echo_target = server.target, echo_server.target
    figures: dict[str, list[float]] = {
        "echo_p50": [],
        "append_p50": [],
        "echo_rate": [],
        "append_rate": [],
        "echo_cpu": [],
        "append_cpu": [],
    }
    ratios: list[float] = []
    async with aio.insecure_channel(echo_target) as echo_channel, aio.insecure_channel(target) as channel:
        echo = echo_call(echo_channel)
        append = await append_call(channel, "wire")
        for _ in range(50):  # warm both servers and channels up
            await echo()
            await append()
        for _ in range(rounds):
            figures["echo_p50"].append(await p50_ms(echo, SEQUENTIAL_CALLS))
            figures["append_p50"].append(await p50_ms(append, SEQUENTIAL_CALLS))
            echo_rate, echo_cpu = await cpu_per_call_us(
                echo_server.process.pid, echo, IN_FLIGHT, ECHO_CONCURRENT_CALLS
            )
            append_rate, append_cpu = await cpu_per_call_us(
                server.process.pid, append, IN_FLIGHT, APPEND_CONCURRENT_CALLS
            )
            figures["echo_rate"].append(echo_rate)
            figures["append_rate"].append(append_rate)
            figures["echo_cpu"].append(echo_cpu)
            figures["append_cpu"].append(append_cpu)
            ratios.append(figures["append_rate"][-1] / figures["echo_rate"][-1])
    medians = {name: statistics.median(values) for name, values in figures.items()}
    bound = medians["echo_p50"] + fsync_ms + 0.4
    return {
        "rounds": rounds,
        "echo_p50_ms": round(medians["echo_p50"], 4),
        "fsync_p50_ms": round(fsync_ms, 4),
        "append_event_p50_ms": round(medians["append_p50"], 4),
        "append_event_p50_target_ms": round(bound, 4),
        "append_event_p50_over_echo_plus_fsync_ms": round(
            medians["append_p50"] - medians["echo_p50"] - fsync_ms, 4
        ),
        "append_event_p50_pass": medians["append_p50"] <= bound,
        "echo_rate_64": round(medians["echo_rate"]),
        "append_event_rate_64": round(medians["append_rate"]),
        "append_event_rate_ratio": round(statistics.median(ratios), 3),
        "append_event_rate_ratios": [round(ratio, 3) for ratio in ratios],
        "append_event_rate_target": ">= 0.6x echo at 64 in flight",
        "append_event_rate_pass": statistics.median(ratios) >= 0.6,
        "echo_server_cpu_us_per_call": round(medians["echo_cpu"]),
        "append_event_server_cpu_us_per_call": round(medians["append_cpu"]),
    }


def main() -> None:
    """Starts the server and the echo server, measures, prints JSON."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROUNDS
    with tempfile.TemporaryDirectory(prefix="agent-registry-append-bench-") as temporary:
        work = Path(temporary)
        data_dir = work / "data"
        data_dir.mkdir()
        server, echo = start_server(data_dir), start_echo_server()
        try:
            result = asyncio.run(wire_figures(server, echo, fsync_p50_ms(data_dir), rounds))
        finally:
            server.stop()
            echo.stop()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
