"""Token streaming through RouteAndInvoke: chunks before results, interleaving, bounded buffers, cancel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agent_registry_client import (
    Agent,
    AgentChunk,
    Capabilities,
    Completed,
    Factory,
    RegistryClient,
    RouterClient,
    RoutingDecision,
    SessionClient,
)
from registry_server.agents.worker_calls import MAX_PENDING_PIECES, WorkerCall
from registry_server.domain.routing import AgentChunk as DomainChunk
from registry_server.domain.routing import AgentResult as DomainResult
from registry_server.routing.invoker import InvocationLimits, invoke_all
from registry_server.server import RegistryServer
from tests.agent_turns import ask, chunks_of, register, result_of
from tests.conftest import StartServer
from tests.markers import wait_for_path

FENCE = "tests.fence_agents"


async def _register_lock_step_pair(server: RegistryServer) -> None:
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry:
        await registry.batch_register_agents(
            [
                Agent(
                    "alpha_agent",
                    Factory(FENCE, "create_lock_step_agent", {"me": "a", "partner": "b", "leader": True}),
                    capabilities=Capabilities(domains=("alpha",)),
                ),
                Agent(
                    "beta_agent",
                    Factory(FENCE, "create_lock_step_agent", {"me": "b", "partner": "a", "leader": False}),
                    capabilities=Capabilities(domains=("beta",)),
                ),
            ]
        )


@pytest.mark.parametrize("workers", [1, 0])
async def test_chunks_stream_before_each_result_and_interleave(start: StartServer, workers: int) -> None:
    """The two agents take turns, so their chunks can only arrive interleaved if each is sent at once."""
    server = await start(agent_workers=workers)
    await _register_lock_step_pair(server)
    events = await ask(server, "alpha and beta")
    assert isinstance(events[0], RoutingDecision) and isinstance(events[-1], Completed)
    streamed = [(e.agent_name, e.text) for e in events if isinstance(e, AgentChunk)]
    assert streamed == [
        ("alpha_agent", "a0 "),
        ("beta_agent", "b0 "),
        ("alpha_agent", "a1 "),
        ("beta_agent", "b1 "),
        ("alpha_agent", "a2 "),
        ("beta_agent", "b2 "),
    ]
    for name in ("alpha_agent", "beta_agent"):
        result = result_of(events, name)
        last_chunk = max(
            i for i, e in enumerate(events) if isinstance(e, AgentChunk) and e.agent_name == name
        )
        assert events.index(result) > last_chunk, "an agent's result follows its chunks"
        assert result.response == "".join(chunks_of(events, name))
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        session = await sessions.get_session(events[-1].session_id)  # type: ignore[union-attr]
    assert {i.agent_name: i.response for i in session.invocations} == {
        "alpha_agent": "a0 a1 a2 ",
        "beta_agent": "b0 b1 b2 ",
    }


async def test_a_single_answer_is_one_chunk_then_its_result(server: RegistryServer) -> None:
    events = await ask(server, "show my tickets")
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["RoutingDecision", "AgentChunk", "AgentResult", "Completed"]


async def test_cancelling_mid_stream_cancels_the_agent_and_frees_the_call(
    server: RegistryServer, tmp_path: Path
) -> None:
    marker = tmp_path / "streamer"
    await register(
        server,
        "stream_agent",
        Factory(FENCE, "create_stream_then_hang_agent", {"marker": str(marker)}),
        "stream",
    )
    async with RouterClient(f"127.0.0.1:{server.port}") as router:
        events = router.route_and_invoke("stream please", user_id="alice")
        assert isinstance(await anext(events), RoutingDecision)
        first = await anext(events)
        assert first == AgentChunk("stream_agent", "first chunk")
        assert server.agent_host is not None and server.agent_host.pool is not None
        assert server.agent_host.pool.in_flight == 1
        await events.aclose()  # the caller leaves mid-stream: the call is cancelled
    await wait_for_path(marker.with_suffix(".cancelled"))
    await _until(lambda: server.agent_host.pool.in_flight == 0)  # type: ignore[union-attr]


async def test_the_agent_buffer_is_bounded_when_nobody_reads() -> None:
    """A caller that stops reading holds the agent up: it produces a bounded number of chunks."""
    produced = 0
    closed = asyncio.Event()

    class Chatty:
        async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
            nonlocal produced
            try:
                while True:
                    produced += 1
                    yield "chunk "
            finally:
                closed.set()

    limits = InvocationLimits(timeout_s=30, max_output_bytes=10_000_000, queued_events=8)
    events = invoke_all([("chatty", Chatty())], "q", {}, limits)
    assert isinstance(await anext(events), DomainChunk)
    for _ in range(1000):
        await asyncio.sleep(0)  # gives the agent every chance to run ahead of the reader
    assert produced <= limits.queued_events + 3
    await events.aclose()
    assert closed.is_set(), "closing the stream stops the agent"


async def test_results_follow_chunks_in_process() -> None:
    class Two:
        async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
            yield "one "
            yield "two"

    events = [e async for e in invoke_all([("two", Two())], "q", {}, InvocationLimits())]
    assert events[:2] == [DomainChunk("two", "one "), DomainChunk("two", "two")]
    assert isinstance(events[2], DomainResult) and events[2].response == "one two"


async def test_a_worker_call_buffers_a_bounded_amount() -> None:
    call = WorkerCall(1, max_chars=1000)
    for _ in range(10_000):
        call.deliver({"id": 1, "chunk": "abc"})
    call.deliver({"id": 1, "done": True})
    pieces = [piece async for piece in call.chunks()]
    assert len(pieces) <= MAX_PENDING_PIECES
    assert "".join(pieces) == ("abc" * 334)[:1000]


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.01)
