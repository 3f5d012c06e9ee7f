"""Cluster mode benchmark: `python -m bench.cluster` prints one JSON document.

Each PostgreSQL figure sits beside the embedded backend's, measured in the same run:
- GetAgent and Route throughput (1,000 agents, 32 in flight per client): embedded, one instance on
  PostgreSQL, and two instances on PostgreSQL with one load client each (medians of 3 interleaved rounds);
- RegisterAgent p50 through PostgreSQL (fsync on, as in production) against the embedded journal, and
  against a bare one-row commit on the same PostgreSQL (its WAL flush is the floor of any durable write);
- change propagation: from RegisterAgent returning on instance A until instance B answers GetAgent for
  the new agent, p50 and p99.
On this machine 2 cores carry the load clients, the instances and PostgreSQL, so two instances cannot
double throughput: the ratios say how much of the single-instance figure survives the sharing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
from grpc import aio

from agentregistry.v1 import agent_pb2, registry_service_pb2, registry_service_pb2_grpc
from bench.processes import Child, run_load, start_server
from bench.seed import synthetic_agents, write_registry
from registry_server.registry.document import encode_record, etag_of
from registry_server.registry.postgres_store import PostgresRegistryStore
from registry_server.registry.store import StoredAgent
from tests.postgres import PostgresServer

AGENTS = 1000
SECONDS = 3.0
PROPAGATION_SAMPLES = 200
ROUNDS = 3


def load_spec(call: str, target: str) -> dict[str, Any]:
    """A throughput scenario of the shared load client."""
    params = {"agent": "agent_00001"} if call == "get_agent" else {"agents": AGENTS}
    return {
        "kind": "throughput",
        "call": call,
        "target": target,
        "concurrency": 32,
        "duration_s": SECONDS,
        "params": params,
        "warmup": 100,
    }


def rate_of(call: str, targets: list[str]) -> float:
    """Calls per second summed over one load client per target, all running at once."""
    with ThreadPoolExecutor(len(targets)) as pool:
        results = list(pool.map(lambda target: run_load(load_spec(call, target)), targets))
    return float(sum(result["rate"] for result in results))


def register_p50(target: str, prefix: str) -> float:
    """RegisterAgent p50 in ms, sequential."""
    spec = {
        "kind": "latency",
        "call": "register_agent",
        "target": target,
        "count": 200,
        "warmup": 20,
        "params": {"prefix": prefix},
    }
    return float(run_load(spec)["p50"])


async def seed_postgres(url: str) -> None:
    """The same 1,000 synthetic agents the embedded data dir holds."""
    store = await PostgresRegistryStore.open(url)
    try:
        agents = [StoredAgent(spec, etag_of(encode_record(spec)), 0) for spec in synthetic_agents(AGENTS)]
        await store.import_agents(agents)
    finally:
        await store.close()


async def bare_commit_p50(url: str) -> float:
    """p50 in ms of committing a one-row UPDATE on the same database: PostgreSQL's own floor per write."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS bench_floor (id int PRIMARY KEY, n bigint)")
        await connection.execute("INSERT INTO bench_floor VALUES (1, 0) ON CONFLICT DO NOTHING")
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            async with connection.transaction():
                await connection.execute("UPDATE bench_floor SET n = n + 1 WHERE id = 1")
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)
    finally:
        await connection.close()


async def propagation_ms(writer: str, reader: str) -> list[float]:
    """For each sample: ms from RegisterAgent returning on `writer` until `reader` knows the agent."""
    samples = []
    async with aio.insecure_channel(writer) as write_channel, aio.insecure_channel(reader) as read_channel:
        registry_a = registry_service_pb2_grpc.RegistryServiceStub(write_channel)
        registry_b = registry_service_pb2_grpc.RegistryServiceStub(read_channel)
        for number in range(PROPAGATION_SAMPLES):
            name = f"propagated_{number:05d}"
            agent = agent_pb2.Agent(
                name=name,
                factory=agent_pb2.AgentFactory(module="bench.cheap_agents", function="create_cheap_agent"),
            )
            await registry_a.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))
            acknowledged = time.perf_counter()
            while True:
                try:
                    await registry_b.GetAgent(registry_service_pb2.GetAgentRequest(name=name))
                    break
                except aio.AioRpcError:
                    continue
            samples.append((time.perf_counter() - acknowledged) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at `fraction` of the sorted list."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="agent-registry-cluster-bench-"))
    postgres = PostgresServer.create(durable=True)
    children: list[Child] = []
    try:
        url = postgres.create_database("bench")
        asyncio.run(seed_postgres(url))
        write_registry(work / "embedded", AGENTS)
        embedded = start_server(work / "embedded")
        children.append(embedded)
        first = start_server(work / "a", "--database-url", url)
        second = start_server(work / "b", "--database-url", url)
        children += [first, second]

        figures: dict[str, Any] = {}
        for call in ("get_agent", "route"):
            rounds = [
                (
                    rate_of(call, [embedded.target]),
                    rate_of(call, [first.target]),
                    rate_of(call, [first.target, second.target]),
                )
                for _ in range(ROUNDS)  # interleaved, so each setup sees the same noise
            ]
            one_embedded, one_postgres, two_postgres = (
                statistics.median(column) for column in zip(*rounds, strict=True)
            )
            figures[f"{call}_throughput"] = {
                "embedded_rps": round(one_embedded),
                "postgres_1_instance_rps": round(one_postgres),
                "postgres_2_instances_rps": round(two_postgres),
                "postgres_vs_embedded": round(one_postgres / one_embedded, 3),
                "2_instances_vs_1": round(two_postgres / one_postgres, 3),
            }
        embedded_register = register_p50(embedded.target, "embedded")
        postgres_register = register_p50(first.target, "postgres")
        floor = asyncio.run(bare_commit_p50(url))
        figures["register_agent_p50"] = {
            "embedded_ms": round(embedded_register, 3),
            "postgres_ms": round(postgres_register, 3),
            "postgres_bare_commit_ms": round(floor, 3),
            "postgres_vs_embedded": round(postgres_register / embedded_register, 3),
            "postgres_vs_bare_commit": round(postgres_register / floor, 3),
        }
        samples = asyncio.run(propagation_ms(first.target, second.target))
        figures["change_propagation_between_instances"] = {
            "p50_ms": round(statistics.median(samples), 3),
            "p99_ms": round(percentile(samples, 0.99), 3),
            "samples": len(samples),
            "target": "p99 <= 100 ms",
            "pass": percentile(samples, 0.99) <= 100,
        }
        figures["bound"] = (
            f"{os.cpu_count()} cores shared by the load clients, the instances and PostgreSQL: a second "
            "instance adds a second process competing for the same cores, not new cores"
        )
        print(json.dumps(figures, indent=2))
    finally:
        for child in children:
            child.stop()
        postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
