"""Durable registry writes: RegisterAgent p50 at 1,000 and 10,000 agents, beside fsync and etcd's put.

Each figure is measured in the same run as its references: fsync p50 on the data dir's file system, and,
when an `etcd` binary is on PATH, etcd's durable put p50 over its HTTP gateway on loopback.
Run alone with `python -m bench.registry_writes`.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.processes import run_load, start_echo_server, start_server
from bench.seed import write_registry

SIZES = (1000, 10_000)
REGISTRATIONS = 300
SAMPLES = 300


def fsync_p50_ms(directory: Path, samples: int = SAMPLES) -> float:
    """Median time of a 200-byte append plus fsync, like one journal record, in `directory`."""
    path = directory / "fsync-probe"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    timings = []
    try:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(descriptor, b"x" * 200)
            os.fsync(descriptor)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(descriptor)
        path.unlink()
    return statistics.median(timings)


def register_p50_ms(work: Path, agents: int) -> dict[str, Any]:
    """RegisterAgent latency through a real server whose registry already holds `agents` agents."""
    data_dir = work / f"registry-writes-{agents}"
    write_registry(data_dir, agents)
    server = start_server(data_dir)
    try:
        return run_load(
            {
                "target": server.target,
                "kind": "latency",
                "call": "register_agent",
                "count": REGISTRATIONS,
                "warmup": 20,
            }
        )
    finally:
        server.stop()


def echo_p50_ms() -> float:
    """Sequential p50 of the bare grpc.aio echo server: the RPC floor on this machine."""
    echo = start_echo_server()
    try:
        spec = {"target": echo.target, "kind": "latency", "call": "get_agent", "count": SAMPLES}
        result: float = run_load({**spec, "params": {"agent": "echo_agent"}})["p50"]
        return result
    finally:
        echo.stop()


def etcd_put_p50_ms(work: Path) -> float | None:
    """etcd's put p50 over its v3 HTTP gateway on loopback, or None when no `etcd` binary is installed."""
    binary = shutil.which("etcd")
    if binary is None:
        return None
    client_port, peer_port = _free_port(), _free_port()
    endpoint = f"http://127.0.0.1:{client_port}"
    process = subprocess.Popen(
        [
            binary,
            "--data-dir",
            str(work / "etcd"),
            "--listen-client-urls",
            endpoint,
            "--advertise-client-urls",
            endpoint,
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer_port}",
            "--initial-cluster",
            f"default=http://127.0.0.1:{peer_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_etcd(client_port)
        connection = http.client.HTTPConnection("127.0.0.1", client_port, timeout=10)
        timings = []
        for index in range(SAMPLES + 20):
            body = {"key": _b64(f"agents/agent_{index:06d}"), "value": _b64('{"name": "x"}' * 20)}
            started = time.perf_counter()
            _request(connection, "POST", "/v3/kv/put", json.dumps(body))
            if index >= 20:
                timings.append((time.perf_counter() - started) * 1000)
        connection.close()
        return statistics.median(timings)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _request(connection: http.client.HTTPConnection, method: str, path: str, body: str | None = None) -> None:
    connection.request(method, path, body=body, headers={"content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"etcd answered {response.status} to {method} {path}")


def _wait_for_etcd(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            _request(connection, "GET", "/health")
            connection.close()
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError("etcd did not become healthy within 30 s")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The figures (RegisterAgent growth 1,000 -> 10,000, versus etcd when present) and the raw numbers."""
    fsync_ms = fsync_p50_ms(work)
    echo_ms = echo_p50_ms()
    register = {agents: register_p50_ms(work, agents) for agents in SIZES}
    etcd_ms = etcd_put_p50_ms(work)
    small, large = register[1000]["p50"], register[10_000]["p50"]
    figures: list[dict[str, Any]] = [
        {
            "name": "RegisterAgent p50, 10,000 agents / 1,000 agents",
            "value": round(large / small, 3),
            "unit": "ratio",
            "target": "<= 1.5",
            "pass": large <= 1.5 * small,
        }
    ]
    if etcd_ms is not None:
        figures.append(
            {
                "name": "RegisterAgent p50, 1,000 agents / etcd put p50",
                "value": round(small / etcd_ms, 3),
                "unit": "ratio",
                "target": "<= 1.0",
                "pass": small <= etcd_ms,
            }
        )
    raw = {
        "fsync p50 ms": round(fsync_ms, 4),
        "echo RPC p50 ms": round(echo_ms, 4),
        "RegisterAgent p50 - echo p50 - fsync p50, 1,000 agents, ms": round(small - echo_ms - fsync_ms, 4),
        "RegisterAgent p50 ms by registry size": {str(k): round(v["p50"], 4) for k, v in register.items()},
        "RegisterAgent p99 ms by registry size": {str(k): round(v["p99"], 4) for k, v in register.items()},
        "RegisterAgent p50 / fsync p50, 1,000 agents": round(small / fsync_ms, 3),
        "etcd put p50 ms": round(etcd_ms, 4) if etcd_ms is not None else "no etcd binary on PATH",
    }
    return figures, raw


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="bench-registry-writes-") as temp:
        measured_figures, measured = run(Path(temp))
    print(json.dumps({"figures": measured_figures, "registry writes": measured}, indent=2))
