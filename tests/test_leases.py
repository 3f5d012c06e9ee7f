"""Agent leases on the embedded backend: KeepAlive, expiry to UNAVAILABLE, renewal back to AVAILABLE."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agent_registry_client import (
    AgentState,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RegistryClient,
    RouterClient,
)
from registry_server.server import RegistryServer
from tests.test_registry_rpcs import security_agent

QUERY = "scan the payments service for vulnerabilities"


async def wait_for_state(client: RegistryClient, state: AgentState, deadline_s: float = 20.0) -> str:
    """Polls GetAgent until the agent is in `state`; returns its state message."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while (agent := await client.get_agent("security_agent")).state is not state:
        assert loop.time() < end, f"security_agent still {agent.state}, not {state}"
        await asyncio.sleep(0.02)
    return agent.state_message


async def test_a_lease_not_renewed_makes_the_agent_unavailable_until_renewed(
    client: RegistryClient, server: RegistryServer
) -> None:
    registered = await client.register_agent(replace(security_agent(), lease_ttl=timedelta(seconds=1)))
    assert registered.lease_ttl == timedelta(seconds=1)
    assert (await client.get_agent("security_agent")).lease_ttl == timedelta(seconds=1)
    message = await wait_for_state(client, AgentState.UNAVAILABLE)
    assert "lease expired" in message
    async with RouterClient(f"127.0.0.1:{server.port}") as router:
        assert "security_agent" not in (await router.route(QUERY)).selected_agents
        expires = await client.keep_alive("security_agent", ttl=timedelta(minutes=10))
        assert expires > datetime.now(UTC) + timedelta(minutes=9)
        assert await wait_for_state(client, AgentState.AVAILABLE) == ""
        assert "security_agent" in (await router.route(QUERY)).selected_agents


async def test_renewals_keep_the_agent_available(client: RegistryClient) -> None:
    await client.register_agent(replace(security_agent(), lease_ttl=timedelta(seconds=30)))
    first = await client.keep_alive("security_agent")
    second = await client.keep_alive("security_agent")
    assert second >= first
    assert (await client.get_agent("security_agent")).state is AgentState.AVAILABLE


async def test_keep_alive_refuses_what_it_cannot_renew(client: RegistryClient) -> None:
    with pytest.raises(NotFound):
        await client.keep_alive("missing_agent")
    await client.register_agent(security_agent())
    with pytest.raises(FailedPrecondition, match="holds no lease"):
        await client.keep_alive("security_agent")
    with pytest.raises(InvalidArgument, match="between 1 s and 1 day"):
        await client.keep_alive("security_agent", ttl=timedelta(milliseconds=10))
    with pytest.raises(InvalidArgument, match="between 1 s and 1 day"):
        await client.register_agent(replace(security_agent("other_agent"), lease_ttl=timedelta(days=2)))
    with pytest.raises(NotFound):
        await client.get_agent("other_agent")
    with pytest.raises(InvalidArgument):
        await client.keep_alive("Not A Name!")


async def test_a_deleted_agent_loses_its_lease(client: RegistryClient) -> None:
    await client.register_agent(replace(security_agent(), lease_ttl=timedelta(seconds=30)))
    await client.delete_agent("security_agent")
    await client.register_agent(security_agent())
    with pytest.raises(FailedPrecondition, match="holds no lease"):
        await client.keep_alive("security_agent")


async def test_a_batch_registers_each_agent_with_its_own_lease(client: RegistryClient) -> None:
    leased = replace(security_agent("leased_agent"), lease_ttl=timedelta(seconds=30))
    registered = await client.batch_register_agents([leased, security_agent("plain_agent")])
    assert [agent.lease_ttl for agent in registered] == [timedelta(seconds=30), None]
    assert await client.keep_alive("leased_agent") > datetime.now(UTC)
    with pytest.raises(FailedPrecondition, match="holds no lease"):
        await client.keep_alive("plain_agent")
    with pytest.raises(InvalidArgument, match=r"agents\[0\]\.lease_ttl"):
        await client.batch_register_agents([replace(security_agent("x_agent"), lease_ttl=timedelta(0))])
