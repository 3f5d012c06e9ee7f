"""A2A agent servers for tests: a2a-sdk's Starlette app under uvicorn, on a loopback port, in this loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from a2a.server.agent_execution import RequestContext
from a2a.server.events import EventQueue
from a2a.types.a2a_pb2 import AgentSkill

from registry_server.demo_agents.a2a_service import RunnableAgentExecutor, a2a_app, agent_card

SKILLS = [
    AgentSkill(
        id="weather",
        name="forecast",
        description="Weather forecasts",
        tags=["weather", "rain"],
        examples=["will it rain tomorrow", "weather in Paris"],
    )
]


class ChunkAgent:
    """Streams the chunks it was given; records each query and context; can wait on a gate mid-answer."""

    def __init__(self, chunks: list[str], fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.queries: list[tuple[str, dict[str, Any]]] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        self.queries.append((query, dict(context)))
        self.started.set()
        for index, chunk in enumerate(self.chunks):
            if index == 1 and self.gate is not None:
                await self.gate.wait()
            yield chunk
        if self.fail:
            raise RuntimeError("the weather service is down")


class RecordingExecutor(RunnableAgentExecutor):
    """Also records each call's HTTP headers and A2A context id, and the tasks a caller cancelled."""

    def __init__(self, agent: Any) -> None:
        super().__init__(agent)
        self.cancelled: list[str] = []
        self.cancel_seen = asyncio.Event()
        self.headers: list[dict[str, str]] = []
        self.context_ids: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.headers.append(dict(context.call_context.state.get("headers") or {}))
        self.context_ids.append(context.context_id or "")
        await super().execute(context, event_queue)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.cancelled.append(context.task_id or "")
        self.cancel_seen.set()
        await super().cancel(context, event_queue)


def free_socket(port: int = 0) -> socket.socket:
    """A listening-ready socket bound on loopback (port 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@asynccontextmanager
async def a2a_server(
    agent: Any,
    *,
    name: str = "Weather Agent",
    streaming: bool = True,
    port: int = 0,
    executor: RunnableAgentExecutor | None = None,
    card_json: bytes | None = None,
) -> AsyncIterator[str]:
    """Serves `agent` over A2A until the block ends; yields its base URL."""
    sock = free_socket(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    card = agent_card(name, "Forecasts the weather", url, SKILLS, streaming=streaming)
    app = a2a_app(card, executor or RunnableAgentExecutor(agent))
    if card_json is not None:
        app = _raw_card_app(card_json)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()


def _raw_card_app(body: bytes) -> Any:
    """An app whose card endpoint serves `body` as is (to test invalid cards)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def card(_request: Any) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/.well-known/agent-card.json", card)])
