"""One soak client process: mixed writes against a server that keeps dying, logging what was acknowledged.

`python -m bench.soak_client '<json spec>'`. Every write is logged *before* it is first sent (an attempt) and
*after* the server acknowledged it (an ack), as JSON lines in `ack_log`. Writes retry as a real client does:
after UNAVAILABLE, a deadline or a dropped connection, the same request is sent again with the same request_id
until it is acknowledged, so the server must apply it once however many times it arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
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
RETRY_GRACE_S = 20.0  # past the run's deadline, a write still unacknowledged is given up
RETRY_BACKOFF_S = (0.05, 0.1, 0.2, 0.4)
# What a dropped connection or a killed server looks like to a caller: the outcome is unknown, so retry.
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNKNOWN,
    }
)
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
        self.retries = 0
        self.deadline = 0.0

    async def call(self, method: Any, request: Any) -> Any:
        return await method(request, timeout=CALL_TIMEOUT_S, wait_for_ready=True)

    async def write(self, method: Any, request: Any) -> Any:
        """Sends an idempotent write (its request_id set) until acknowledged, the same request each time."""
        for attempt in range(1_000_000):
            try:
                return await self.call(method, request)
            except aio.AioRpcError as error:
                if error.code() not in RETRYABLE or time.time() > self.deadline + RETRY_GRACE_S:
                    raise
            self.retries += 1
            await asyncio.sleep(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    async def run(self, deadline: float) -> None:
        self.deadline = deadline
        while time.time() < deadline:
            self.counter += 1
            try:
                await self.step()
            except aio.AioRpcError as error:
                if error.code() not in RETRYABLE:
                    raise
                self.failures += 1

    async def step(self) -> None:
        if len(self.session_ids) < 2:
            created = await self.write(
                self.sessions.CreateSession,
                session_service_pb2.CreateSessionRequest(
                    user_id=f"soak{self.client_id}", request_id=_request_id()
                ),
            )
            self.session_ids.append(created.session.session_id)
            self.log.write(op="session", session=created.session.session_id)
            return
        choice = self.rng.random()
        if choice < 0.15 or not self.agents:
            await self.register()
        elif choice < 0.3:
            await self.update()
        elif choice < 0.5:
            await self.append()
        elif choice < 0.65:
            await self.append_event()
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
        request = registry_service_pb2.RegisterAgentRequest(agent=agent, request_id=_request_id())
        await self.write(self.registry.RegisterAgent, request)
        self.agents.append(name)
        self.log.write(op="register", name=name)

    async def update(self) -> None:
        name = self.rng.choice(self.agents)
        description = f"v{self.counter}"
        self.log.write(op="update_attempt", name=name, description=description)
        request = registry_service_pb2.UpdateAgentRequest(
            agent=agent_pb2.Agent(name=name, description=description), request_id=_request_id()
        )
        request.update_mask.paths.append("description")
        await self.write(self.registry.UpdateAgent, request)
        self.log.write(op="update", name=name, description=description)

    async def append(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        content = f"client {self.client_id} message {self.counter} ✓"
        request = session_service_pb2.AppendHistoryRequest(
            session_id=session_id, role=session_pb2.ROLE_USER, content=content, request_id=_request_id()
        )
        self.log.write(op="append_attempt", session=session_id, content=content)
        reply = await self.write(self.sessions.AppendHistory, request)
        self.log.write(op="append", session=session_id, seq=reply.entry.seq, content=content)

    async def append_event(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        event_id = f"c{self.client_id}-e{self.counter}"
        event = session_pb2.Event(
            id=event_id, author="soak", timestamp=time.time(), content_json='{"parts": [{"text": "hi"}]}'
        )
        request = session_service_pb2.AppendEventRequest(
            session_id=session_id, event=event, request_id=_request_id()
        )
        self.log.write(op="event_attempt", session=session_id, event_id=event_id)
        reply = await self.write(self.sessions.AppendEvent, request)
        self.log.write(op="event", session=session_id, seq=reply.event.seq, event_id=event_id)

    async def record(self) -> None:
        session_id = self.rng.choice(self.session_ids)
        query = f"query {self.counter}"
        invocation = session_pb2.Invocation(
            agent_name="tickets_agent", query=query, response="r", success=True, duration_ms=self.counter
        )
        request = session_service_pb2.RecordInvocationRequest(
            session_id=session_id, invocation=invocation, request_id=_request_id()
        )
        self.log.write(op="invoke_attempt", session=session_id, query=query)
        reply = await self.write(self.sessions.RecordInvocation, request)
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
    return {
        "client_id": spec["client_id"],
        "operations": client.counter,
        "failures": client.failures,
        "retries": client.retries,
    }


def _request_id() -> str:
    """A fresh idempotency key, as a client makes one per logical write."""
    return str(uuid.uuid4())


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
