"""Client load, run as its own process: `python -m bench.load '<json spec>'` prints a JSON result.

Latency scenarios make one call at a time and report p50/p99; throughput scenarios keep `concurrency` calls
in flight for `duration_s` (or until `count` calls) and report calls per second. Raw generated stubs are used,
so the figures are the server's and the transport's, not a client library's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from grpc import aio

from agentregistry.v1 import (
    agent_pb2,
    registry_service_pb2,
    registry_service_pb2_grpc,
    router_service_pb2,
    router_service_pb2_grpc,
    session_pb2,
    session_service_pb2,
    session_service_pb2_grpc,
)

Call = Callable[[], Awaitable[Any]]


async def build_call(channel: aio.Channel, name: str, params: dict[str, Any]) -> Call:
    """The call of scenario `name`, after any setup it needs (e.g. a session to append to)."""
    registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
    sessions = session_service_pb2_grpc.SessionServiceStub(channel)
    router = router_service_pb2_grpc.RouterServiceStub(channel)
    rng = random.Random(11)
    counter = itertools.count()

    if name == "get_agent":
        request = registry_service_pb2.GetAgentRequest(name=params["agent"])
        return lambda: registry.GetAgent(request)
    if name == "route":
        agents = params["agents"]
        return lambda: router.Route(
            router_service_pb2.RouteRequest(query=f"show topic{rng.randrange(agents)} please")
        )
    if name == "register_agent":
        prefix = params.get("prefix", "new")
        examples = params.get("examples", 0)

        def register() -> Awaitable[Any]:
            agent = agent_pb2.Agent(
                name=f"{prefix}_{next(counter):06d}",
                factory=agent_pb2.AgentFactory(module="bench.cheap_agents", function="create_cheap_agent"),
                capabilities=agent_pb2.AgentCapabilities(
                    domains=["benchmarks"],
                    operations=["list"],
                    examples=[f"list benchmark run {n} for the nightly suite" for n in range(examples)],
                ),
            )
            return registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))

        return register
    if name == "create_session":
        return lambda: sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="bench"))
    session_ids = (
        [
            (
                await sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="bench"))
            ).session.session_id
            for _ in range(params.get("sessions", 1))
        ]
        if name in {"append_history", "record_invocation"}
        else []
    )
    if name == "append_history":
        return lambda: sessions.AppendHistory(
            session_service_pb2.AppendHistoryRequest(
                session_id=session_ids[next(counter) % len(session_ids)],
                role=session_pb2.ROLE_USER,
                content="show me the status of ticket 12301 and what changed since yesterday",
            )
        )
    if name == "record_invocation":
        invocation = session_pb2.Invocation(
            agent_name="tickets_agent",
            query="show my tickets",
            response="You have 3 tickets: ...",
            success=True,
            duration_ms=12,
        )
        return lambda: sessions.RecordInvocation(
            session_service_pb2.RecordInvocationRequest(session_id=session_ids[0], invocation=invocation)
        )
    if name == "get_session":
        request = session_service_pb2.GetSessionRequest(
            session_id=params["session_id"], history_page_size=params["history"]
        )
        return lambda: sessions.GetSession(request)
    if name == "list_sessions":
        request = session_service_pb2.ListSessionsRequest(page_size=50, user_id=params.get("user_id", ""))
        return lambda: sessions.ListSessions(request)
    raise SystemExit(f"unknown call {name}")


async def latency(call: Call, count: int, warmup: int) -> dict[str, Any]:
    """p50 and p99 of `count` sequential calls, after `warmup` unmeasured ones."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "count": count,
    }


async def throughput(
    call: Call, concurrency: int, duration_s: float, count: int, warmup: int
) -> dict[str, Any]:
    """Calls per second with `concurrency` callers, over `duration_s` seconds or `count` calls."""
    for _ in range(warmup):
        await call()
    done = 0
    deadline = time.perf_counter() + duration_s if duration_s else float("inf")

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline and (not count or done < count):
            done += 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"rate": done / elapsed, "count": done, "seconds": elapsed, "concurrency": concurrency}


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    async with aio.insecure_channel(spec["target"]) as channel:
        call = await build_call(channel, spec["call"], spec.get("params", {}))
        if spec["kind"] == "latency":
            return await latency(call, spec.get("count", 1000), spec.get("warmup", 50))
        return await throughput(
            call,
            spec.get("concurrency", 32),
            spec.get("duration_s", 0),
            spec.get("count", 0),
            spec.get("warmup", 50),
        )


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
