"""Helpers for tests that register agents and run turns through a real server."""

from __future__ import annotations

from agent_registry_client import (
    Agent,
    AgentChunk,
    AgentResult,
    Capabilities,
    Completed,
    Factory,
    RegistryClient,
    RouterClient,
    TurnEvent,
)
from registry_server.server import RegistryServer


async def register(server: RegistryServer, name: str, factory: Factory, domain: str) -> Agent:
    """Registers `name`, routed to by queries that mention `domain`."""
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry:
        return await registry.register_agent(
            Agent(name, factory, capabilities=Capabilities(domains=(domain,)))
        )


async def ask(server: RegistryServer, query: str, session_id: str = "") -> list[TurnEvent]:
    """Every event of one turn."""
    async with RouterClient(f"127.0.0.1:{server.port}") as router:
        user = "" if session_id else "alice"
        return [event async for event in router.route_and_invoke(query, session_id=session_id, user_id=user)]


def result_of(events: list[TurnEvent], agent_name: str) -> AgentResult:
    """The agent's result among the events."""
    [result] = [e for e in events if isinstance(e, AgentResult) and e.agent_name == agent_name]
    return result


def chunks_of(events: list[TurnEvent], agent_name: str) -> list[str]:
    """The agent's chunks, in order."""
    return [e.text for e in events if isinstance(e, AgentChunk) and e.agent_name == agent_name]


def session_of(events: list[TurnEvent]) -> str:
    """The session the turn was recorded in."""
    completed = events[-1]
    assert isinstance(completed, Completed)
    return completed.session_id
