"""Start-up with 1,000 agents of 50 examples each: process start to ready, and to the first Route answered.

Measured with and without the routing vector cache, against two references from the same run: a bare
`python -c pass` and the bare echo server's start. On a shared machine the wall time mostly measures the
other jobs, so each figure also gives the server process's own CPU seconds (user + system) up to its first
Route. Children run with compiled bytecode (kept under the run's work dir), as an installed wheel has it:
without it every start would pay for compiling the sources. Run alone with `python -m bench.startup`; it
prints JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from agentregistry.v1 import router_service_pb2, router_service_pb2_grpc
from bench.processes import Child, start_echo_server, start_server
from bench.seed import write_registry

Figure = dict[str, Any]
RUNS = 3
AGENTS, EXAMPLES = 1000, 50


def bytecode_env(work: Path) -> dict[str, str]:
    """Child environment that writes and reuses compiled bytecode, outside the source tree."""
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(work / "pycache")}


def first_route_s(server: Child) -> float:
    """Seconds from the server's process start to its first Route answered."""
    with grpc.insecure_channel(server.target) as channel:
        router = router_service_pb2_grpc.RouterServiceStub(channel)
        router.Route(router_service_pb2.RouteRequest(query="show topic7 please"), timeout=60)
    return time.perf_counter() - server.started


def cpu_seconds(pid: int) -> float:
    """The user + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(data_dir: Path, env: dict[str, str], *, cached: bool) -> tuple[float, float, float]:
    """(ready s, first Route answered s, server CPU s by then) of one start, with or without the cache."""
    if not cached:
        (data_dir / "routing_vectors.npz").unlink(missing_ok=True)
    server = start_server(data_dir, env=env)
    try:
        routed = first_route_s(server)
        return server.ready_after_s, routed, cpu_seconds(server.process.pid)
    finally:
        server.stop()


def bare_python_s() -> float:
    """Seconds to start and end `python -c pass`: the floor of any Python process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def echo_start_s(env: dict[str, str]) -> float:
    """Seconds from process start to the bare grpc.aio echo server's ready line."""
    echo = start_echo_server(env=env)
    echo.stop()
    return echo.ready_after_s


def figures(work: Path) -> list[Figure]:
    """The start-up figures, medians of RUNS starts each."""
    data_dir = work / "startup-examples"
    write_registry(data_dir, AGENTS, examples=EXAMPLES)
    env = bytecode_env(work)
    one_start(data_dir, env, cached=False)  # compiles the bytecode and writes the cache once
    cached = [one_start(data_dir, env, cached=True) for _ in range(RUNS)]
    uncached = [one_start(data_dir, env, cached=False) for _ in range(RUNS)]
    bare = statistics.median(bare_python_s() for _ in range(RUNS))
    echo = statistics.median(echo_start_s(env) for _ in range(RUNS))
    references = {"python_c_pass_s": round(bare, 3), "echo_server_start_s": round(echo, 3)}
    return [
        _figure("with the vector cache", cached, references),
        _figure("without a vector cache (every vector computed at load)", uncached, references),
    ]


def _figure(variant: str, runs: list[tuple[float, float, float]], references: dict[str, float]) -> Figure:
    ready = statistics.median(r for r, _, _ in runs)
    routed = statistics.median(f for _, f, _ in runs)
    return {
        "name": f"start-up with {AGENTS:,} agents of {EXAMPLES} examples, {variant}: "
        "process start to the first Route answered",
        "value": round(routed, 3),
        "unit": "s",
        "ready_s": round(ready, 3),
        "server_cpu_s": round(statistics.median(c for _, _, c in runs), 3),
        "ratio_to_echo_server_start": round(routed / references["echo_server_start_s"], 2),
        **references,
        "target": "<= 1 s",
        "pass": routed <= 1.0,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="agent-registry-bench-") as temp:
        print(json.dumps(figures(Path(temp)), indent=2))
