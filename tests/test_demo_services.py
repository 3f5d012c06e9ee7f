"""`make demo`: the demo agents as separate A2A services, and the registry routing to them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from agent_registry_client import AgentState, RegistryClient, RouterClient
from agent_registry_client.routing_models import AgentResult, Completed
from tests.a2a_servers import free_socket
from tests.server_process import READY, REPO

pytestmark = pytest.mark.slow


def free_ports(count: int) -> list[int]:
    sockets = [free_socket() for _ in range(count)]
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_the_demo_runs_the_agents_as_a2a_services_behind_the_registry(tmp_path: Path):
    tickets, finops, oxygen = free_ports(3)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry_server.demo_agents.launch",
        f"--tickets-port={tickets}",
        f"--finops-port={finops}",
        f"--oxygen-port={oxygen}",
        f"--data-dir={tmp_path / 'demo'}",
        "--port=0",
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            while not (match := READY.search((await process.stderr.readline()).decode(errors="replace"))):
                assert process.returncode is None
        drain = asyncio.ensure_future(process.stderr.read())
        target = f"127.0.0.1:{match.group(3)}"
        async with RegistryClient(target) as registry, RouterClient(target) as router:
            agents = {agent.name: agent for agent in (await registry.list_agents()).agents}
            assert agents["tickets_agent"].a2a.url == f"http://127.0.0.1:{tickets}"
            assert agents["tickets_agent"].state is AgentState.AVAILABLE
            assert agents["oxygen_agent"].a2a.card.streaming
            assert agents["time_off_agent"].factory is not None
            events = [
                event async for event in router.route_and_invoke("show my tickets and courses", user_id="u")
            ]
            results = {event.agent_name: event for event in events if isinstance(event, AgentResult)}
            assert set(results) == {"tickets_agent", "oxygen_agent"}
            assert all(result.success for result in results.values())
            assert "VPN Access" in results["tickets_agent"].response
            assert isinstance(events[-1], Completed) and "enrolled courses" in events[-1].combined_response
            for query, agent, answer in (
                ("what does SLA mean", "glossary_agent", "service-level agreement"),  # ADK, in the server
                ("how many days off do I have left", "time_off_agent", "left to book"),  # in-process
            ):
                turn = [event async for event in router.route_and_invoke(query, user_id="u")]
                answered = {event.agent_name: event for event in turn if isinstance(event, AgentResult)}
                assert set(answered) == {agent} and answered[agent].success, turn
                assert answer in answered[agent].response
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    await drain
    assert all(refuses_connections(port) for port in (tickets, finops, oxygen))
