"""Agent figures: time to first chunk, the cost of the worker hop, GetAgent latency while an agent blocks.

`python -m bench.agents` prints them as JSON; `make bench` includes them. The server runs as a child
process; the client is this process. Ratios compare figures measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from agent_registry_client import (
    Agent,
    AgentChunk,
    Capabilities,
    Factory,
    RegistryClient,
    RouterClient,
)
from bench.processes import Child, start_server

MODULES = "bench,registry_server.demo_agents"
TURNS = 300
GET_AGENT_CALLS = 3000
Figure = dict[str, Any]


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


async def _timed(call: Callable[[], Awaitable[Any]], count: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _register(target: str, name: str, factory: Factory, domain: str) -> None:
    async with RegistryClient(target) as registry:
        await registry.register_agent(Agent(name, factory, capabilities=Capabilities(domains=(domain,))))


async def _turn_figures(target: str) -> dict[str, Any]:
    """Time to the first chunk and to the end of the turn through a streaming agent."""
    await _register(
        target, "stream_agent", Factory("bench.fence_agents", "create_streaming_agent"), "streams"
    )
    await _register(target, "cheap_agent", Factory("bench.cheap_agents", "create_cheap_agent"), "cheap")
    first_chunk: list[float] = []
    async with RouterClient(target) as router:

        async def first_chunk_turn() -> None:
            started = time.perf_counter()
            seen = False
            async for event in router.route_and_invoke("streams", user_id="bench"):
                if isinstance(event, AgentChunk) and not seen:
                    first_chunk.append((time.perf_counter() - started) * 1000)
                    seen = True

        async def cheap_turn() -> None:
            async for _ in router.route_and_invoke("cheap", user_id="bench"):
                pass

        await _timed(first_chunk_turn, TURNS)
        whole_turn = await _timed(cheap_turn, TURNS)
    return {
        "first_chunk_ms": _percentiles(first_chunk[-TURNS:]),
        "cheap_turn_ms": _percentiles(whole_turn),
    }


async def _blocking_figures(target: str) -> dict[str, Any]:
    """GetAgent latency idle, then while an agent blocks its worker's event loop."""
    await _register(target, "block_agent", Factory("bench.fence_agents", "create_blocking_agent"), "blocks")
    async with RegistryClient(target) as registry, RouterClient(target, turn_timeout=120) as router:
        idle = await _timed(lambda: registry.get_agent("block_agent"), GET_AGENT_CALLS)
        stop = asyncio.Event()

        async def keep_blocking() -> None:
            while not stop.is_set():
                async for _ in router.route_and_invoke("blocks", user_id="bench"):
                    pass

        blocker = asyncio.create_task(keep_blocking())
        await asyncio.sleep(0.5)  # let the first blocking turn reach the worker
        blocked = await _timed(lambda: registry.get_agent("block_agent"), GET_AGENT_CALLS, warmup=0)
        stop.set()
        blocker.cancel()
    return {"idle": _percentiles(idle), "while_blocked": _percentiles(blocked)}


def _with_server(data_dir: Path, workers: int, measure: Callable[[str], Coroutine[Any, Any, Any]]) -> Any:
    data_dir.mkdir(parents=True, exist_ok=True)
    server: Child = start_server(
        data_dir, "--agent-modules", MODULES, "--agent-workers", str(workers), "--agent-timeout", "60"
    )
    try:
        return asyncio.run(measure(server.target))
    finally:
        server.stop()


def run(work: Path) -> list[Figure]:
    """The agent figures, with their targets."""
    in_workers = _with_server(work / "workers", 2, _turn_figures)
    in_process = _with_server(work / "in-process", 0, _turn_figures)
    blocking = _with_server(work / "blocking", 2, _blocking_figures)
    hop_ms = in_workers["cheap_turn_ms"]["p50"] - in_process["cheap_turn_ms"]["p50"]
    ratio = blocking["while_blocked"]["p99"] / blocking["idle"]["p99"]
    return [
        {
            "name": "time to first chunk, RouteAndInvoke through a worker",
            **in_workers["first_chunk_ms"],
            "unit": "ms",
            "in_process": in_process["first_chunk_ms"],
            "target": "reported",
            "pass": True,
        },
        {
            "name": "turn through a worker process vs in process (--agent-workers 0), cheap agent",
            "p50": in_workers["cheap_turn_ms"]["p50"],
            "p99": in_workers["cheap_turn_ms"]["p99"],
            "in_process": in_process["cheap_turn_ms"],
            "worker_hop_ms": round(hop_ms, 3),
            "ratio": round(in_workers["cheap_turn_ms"]["p50"] / in_process["cheap_turn_ms"]["p50"], 3),
            "unit": "ms",
            "target": "reported",
            "pass": True,
        },
        {
            "name": "GetAgent p99 while an agent blocks its event loop, vs idle",
            "idle": blocking["idle"],
            "while_blocked": blocking["while_blocked"],
            "ratio": round(ratio, 3),
            "target": "p99 <= 2x idle p99",
            "pass": ratio <= 2.0,
        },
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="agent-registry-bench-agents-") as temp:
        figures = run(Path(temp))
    print(json.dumps({"figures": figures}, indent=2))


if __name__ == "__main__":
    main()
