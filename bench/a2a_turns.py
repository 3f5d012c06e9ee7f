"""A2A agents: a turn through the registry against calling the same agent directly with a2a-sdk's client.

The agent is the streaming demo learning agent, served over A2A in its own process. Three ways of asking it
the same question are timed in this process, interleaved so that machine noise hits them alike:
- directly, with a2a-sdk's client (the reference);
- through the registry's A2A runtime, in process (what the registry adds to the call itself);
- through a RouteAndInvoke turn of a registry server (routing, the call, and the session's durable writes).
The same turn to the same agent code running in process gives the turn's own cost, without A2A.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest

from agent_registry_client import RouterClient
from agent_registry_client.routing_models import AgentResult, Completed
from bench.processes import REPO, start_server
from registry_server.agents.a2a.runtime import build_a2a_agent
from registry_server.domain.agent import A2AEndpoint

QUERY = "show my courses"
LOCAL_QUERY = "show my lessons"  # routes to the same agent code, built in process


def run(work: Path, turns: int = 300, warmup: int = 30) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The figures (pass/fail against the targets) and the raw medians."""
    port = _free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "registry_server.demo_agents.serve", "oxygen", "--port", str(port)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_card(url)
        data_dir = work / "a2a"
        data_dir.mkdir(parents=True, exist_ok=True)
        defaults = data_dir / "a2a_registry.yaml"
        defaults.write_text(yaml.safe_dump(_registry_document(url)))
        server = start_server(data_dir, "--defaults-file", str(defaults))
        try:
            measured = asyncio.run(_measure(url, server.target, turns, warmup))
        finally:
            server.stop()
    finally:
        service.terminate()
        service.wait(30)
    return _figures(measured), {"a2a p50 ms": {k: round(v, 3) for k, v in measured.items()}}


def _figures(m: dict[str, float]) -> list[dict[str, Any]]:
    direct = m["direct_turn"]
    a2a_in_turn = m["route_and_invoke_turn"] - m["in_process_route_and_invoke_turn"]
    figures: list[dict[str, Any]] = [
        {
            "name": "A2A call inside a RouteAndInvoke turn (the turn minus the same turn in process)",
            "p50": round(a2a_in_turn, 3),
            "reference_p50": round(direct, 3),
            "ratio": round(a2a_in_turn / direct, 3),
            "unit": "ms",
            "target": f"p50 <= 1.3 x direct + 2 ms = {1.3 * direct + 2.0:.3f} ms",
            "pass": a2a_in_turn <= 1.3 * direct + 2.0,
        }
    ]
    for name, key in (
        ("turn through an A2A agent: RouteAndInvoke vs a2a-sdk direct", "route_and_invoke_turn"),
        ("A2A call through the registry's runtime vs a2a-sdk direct", "runtime_turn"),
    ):
        limit = 1.3 * direct + 2.0
        figures.append(
            {
                "name": name,
                "p50": round(m[key], 3),
                "reference_p50": round(direct, 3),
                "ratio": round(m[key] / direct, 3),
                "unit": "ms",
                "target": f"p50 <= 1.3 x direct + 2 ms = {limit:.3f} ms",
                "pass": m[key] <= limit,
            }
        )
    first = m["direct_first_chunk"]
    figures.append(
        {
            "name": "A2A time to first chunk: registry runtime vs a2a-sdk direct",
            "p50": round(m["runtime_first_chunk"], 3),
            "reference_p50": round(first, 3),
            "ratio": round(m["runtime_first_chunk"] / first, 3),
            "route_and_invoke_first_text_p50": round(m["route_and_invoke_first_text"], 3),
            "unit": "ms",
            "target": f"p50 <= 1.3 x direct + 2 ms = {1.3 * first + 2.0:.3f} ms",
            "pass": m["runtime_first_chunk"] <= 1.3 * first + 2.0,
        }
    )
    return figures


async def _measure(url: str, target: str, turns: int, warmup: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    async with httpx.AsyncClient(timeout=30) as http, RouterClient(target) as router:
        card = await A2ACardResolver(http, url).get_agent_card()
        direct = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)
        runtime = await build_a2a_agent("oxygen_agent", A2AEndpoint(url))
        session_id = ""
        for index in range(warmup + turns):
            record = index >= warmup
            first, total = await _timed(_direct_chunks(direct))
            _add(samples, record, direct_first_chunk=first, direct_turn=total)
            first, total = await _timed(runtime.run(QUERY, {}))
            _add(samples, record, runtime_first_chunk=first, runtime_turn=total)
            first, total, session_id = await _timed_turn(router, QUERY, session_id)
            _add(samples, record, route_and_invoke_first_text=first, route_and_invoke_turn=total)
            _first, total, session_id = await _timed_turn(router, LOCAL_QUERY, session_id)
            _add(samples, record, in_process_route_and_invoke_turn=total)
        await runtime.aclose()
    return {key: statistics.median(values) for key, values in samples.items()}


def _add(samples: dict[str, list[float]], record: bool, **values: float) -> None:
    if record:
        for key, value in values.items():
            samples.setdefault(key, []).append(value)


async def _direct_chunks(client: Any) -> Any:
    request = SendMessageRequest(
        message=Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=QUERY)])
    )
    async for event in client.send_message(request):
        if event.HasField("artifact_update"):
            yield event.artifact_update.artifact.parts[0].text


async def _timed(chunks: Any) -> tuple[float, float]:
    """Milliseconds to the first chunk and to the end."""
    started = time.perf_counter()
    first = 0.0
    async for _chunk in chunks:
        first = first or (time.perf_counter() - started) * 1000
    return first, (time.perf_counter() - started) * 1000


async def _timed_turn(router: RouterClient, query: str, session_id: str) -> tuple[float, float, str]:
    """Milliseconds to the first event with the agent's text, and to the end; the session used."""
    started = time.perf_counter()
    first = 0.0
    async for event in router.route_and_invoke(query, session_id=session_id, user_id="bench"):
        has_text = isinstance(event, AgentResult) or type(event).__name__ == "AgentChunk"
        if has_text and not first:
            first = (time.perf_counter() - started) * 1000
        if isinstance(event, AgentResult) and not event.success:
            raise RuntimeError(f"the A2A agent failed: {event.error}")
        if isinstance(event, Completed):
            session_id = event.session_id
    return first, (time.perf_counter() - started) * 1000, session_id


def _registry_document(url: str) -> dict[str, Any]:
    agent = {
        "description": "Learning platform over A2A",
        "a2a": {"url": url},
        "capabilities": {"domains": ["courses"], "entities": ["course"]},
    }
    local = {
        "description": "The same learning agent, built in process",
        "factory": {"module": "registry_server.demo_agents.learning", "function": "create_oxygen_agent"},
        "capabilities": {"domains": ["lessons"], "entities": ["lesson"]},
    }
    return {"version": "1.0.0", "agents": {"oxygen_agent": agent, "local_oxygen_agent": local}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_card(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/.well-known/agent-card.json", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
