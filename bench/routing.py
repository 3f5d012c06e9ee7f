"""Routing over RPC: Route against a bare echo RPC in the same run, registration with examples, start-up."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench import startup
from bench.processes import run_load, start_echo_server, start_server
from bench.seed import write_registry

Figure = dict[str, Any]


def route_against_echo(work: Path) -> list[Figure]:
    """Route p50 at 1,000 agents with 20 examples each, as a ratio to a bare echo RPC, interleaved."""
    data_dir = work / "routing-1000"
    write_registry(data_dir, 1000, examples=20)
    server, echo = start_server(data_dir), start_echo_server()
    try:
        route_spec = {"kind": "latency", "call": "route", "count": 1000, "params": {"agents": 1000}}
        echo_spec = {
            "kind": "latency",
            "call": "get_agent",
            "count": 1000,
            "params": {"agent": "agent_00001"},
        }
        ours, bare = [], []
        for _ in range(3):
            bare.append(run_load({**echo_spec, "target": echo.target})["p50"])
            ours.append(run_load({**route_spec, "target": server.target})["p50"])
        register = run_load(
            {
                "target": server.target,
                "kind": "latency",
                "call": "register_agent",
                "count": 200,
                "warmup": 20,
                "params": {"examples": 50},
            }
        )
    finally:
        server.stop()
        echo.stop()
    route_p50, echo_p50 = statistics.median(ours), statistics.median(bare)
    return [
        {
            "name": "Route RPC p50, 1,000 agents with 20 examples, hybrid stage 1, vs a bare echo RPC",
            "value": round(route_p50 / echo_p50, 3),
            "unit": "ratio",
            "route_p50_ms": round(route_p50, 4),
            "echo_p50_ms": round(echo_p50, 4),
            "target": "<= 1.5",
            "pass": route_p50 / echo_p50 <= 1.5,
        },
        {
            "name": "RegisterAgent with 50 examples, durable, registry of 1,000 agents",
            "p50": round(register["p50"], 4),
            "p99": round(register["p99"], 4),
            "unit": "ms",
            "target": "p50 <= 20 ms",
            "pass": register["p50"] <= 20,
        },
    ]


def figures(work: Path) -> list[Figure]:
    """Every routing figure measured over RPC."""
    return [*route_against_echo(work), *startup.figures(work)]
