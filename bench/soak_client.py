"""One soak client process: mixed writes against a server that keeps dying, logging what was acknowledged.

`python -m bench.soak_client '<json spec>'`. Every write is logged *after* the server acknowledged it (acks)
and, for updates, *before* it is sent (attempts), as JSON lines in `ack_log`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from typing import Any

import grpc
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

CALL_TIMEOUT_S = 5.0
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 300)]


class AckLog:
    """An append-only JSON-lines file; each line is written with one write call."""

    def __init__(self, path: str) -> None:
        self._descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, **record: Any) -> None:
        os.write(self._descriptor, (json.dumps(record) + "\n").encode())


class SoakClient:
    """Runs one client's mix of operations until the deadline."""

    def __init__(self, channel: aio.Channel, client_id: int, log: AckLog, seed: int) -> None:
        self.registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self.sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        self.router = router_service_pb2_grpc.RouterServiceStub(channel)
        self.client_id = client_id
        self.log = log
        self.rng = random.Random(seed)
        self.agents: list[str] = []
        self.session_ids: list[str] = []
        self.counter = 0
        self.failures = 0

    async def call(self, method: Any, request: Any) -> Any:
        return await method(request, timeout=CALL_TIMEOUT_S, wait_for_ready=True)

    async def run(self, deadline: float) -> None:
        while time.time() < deadline:
            self.counter += 1
            try:
                await self.step()
            except aio.AioRpcError as error:
                if error.code() not in {
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.StatusCode.ALREADY_EXISTS,
                    grpc.StatusCode.CANCELLED,
                    grpc.StatusCode.UNKNOWN,
                }:
                    raise
                self.failures += 1

    async def step(self) -> None:
        if len(self.session_ids) < 2:
            created = await self.call(
                self.sessions.CreateSession,
                session_service_pb2.CreateSessionRequest(user_id=f"soak{self.client_id}"),
            )
            self.session_ids.append(created.session.session_id)
            self.log.write(op="session", session=created.session.session_id)
            return
        choice = self.rng.random()
        if choice < 0.15 or not self.agents:
            await self.register()
        elif choice < 0.3:
            await self.update()
        elif choice < 0.65:
            await self.append()
        elif choice < 0.85:
            await self.record()
        else:
            await self.turn()

    async def register(self) -> None:
        name = f"soak_c{self.client_id}_{self.counter}"
        agent = agent_pb2.Agent(
            name=name,
            description="v0",
            factory=agent_pb2.AgentFactory(module="bench.cheap_agents", function="create_cheap_agent"),
            capabilities=agent_pb2.AgentCapabilities(domains=[f"soak{self.client_id}"], keywords=["tickets"]),
        )
        await self.call(self.registry.RegisterAgent, registry_service_pb2.RegisterAgentRequest(agent=agent))
        self.agents.append(name)
        self.log.write(op="register", name=name)

    async def update(self) -> None:
        name = self.rng.choice(self.agents)
        description = f"v{self.counter}"
        self.log.write(op="update_attempt", name=name, description=description)
        request = registry_service_pb2.UpdateAgentRequest(
            agent=agent_pb2.Agent(name=name, description=description)
        )
        request.update_mask.paths.append("description")
        await self.call(self.registry.UpdateAgent, request)
        self.log.write(op="update", name=name, description=description)

    async def append(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        content = f"client {self.client_id} message {self.counter} ✓"
        reply = await self.call(
            self.sessions.AppendHistory,
            session_service_pb2.AppendHistoryRequest(
                session_id=session_id, role=session_pb2.ROLE_USER, content=content
            ),
        )
        self.log.write(op="append", session=session_id, seq=reply.entry.seq, content=content)

    async def record(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        query = f"query {self.counter}"
        invocation = session_pb2.Invocation(
            agent_name="tickets_agent", query=query, response="r", success=True, duration_ms=self.counter
        )
        reply = await self.call(
            self.sessions.RecordInvocation,
            session_service_pb2.RecordInvocationRequest(session_id=session_id, invocation=invocation),
        )
        self.log.write(op="invoke", session=session_id, seq=reply.invocation.seq, query=query)

    async def turn(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        query = f"show my tickets, turn {self.counter}"
        call = self.router.RouteAndInvoke(
            router_service_pb2.RouteAndInvokeRequest(query=query, session_id=session_id),
            timeout=CALL_TIMEOUT_S,
            wait_for_ready=True,
        )
        events = [event async for event in call]
        if events and events[-1].WhichOneof("event") == "completed":
            self.log.write(op="turn", session=session_id, query=query)


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    log = AckLog(spec["ack_log"])
    async with aio.insecure_channel(spec["target"], options=CHANNEL_OPTIONS) as channel:
        client = SoakClient(channel, spec["client_id"], log, spec.get("seed", spec["client_id"]))
        await client.run(spec["deadline"])
    return {"client_id": spec["client_id"], "operations": client.counter, "failures": client.failures}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
