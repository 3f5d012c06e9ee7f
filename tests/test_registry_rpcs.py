"""RegistryService end to end: every RPC's success path through a real server and the real client."""

from __future__ import annotations

import json

import yaml

from agent_registry_client import Agent, AgentState, Capabilities, Factory, RegistryClient
from tests.conftest import DEMO_AGENTS

ECHO = Factory("tests.fake_agents", "create_echo_agent")


def security_agent(name: str = "security_agent", **overrides: object) -> Agent:
    fields: dict[str, object] = {
        "name": name,
        "description": "Security audits and vulnerability scans.",
        "factory": Factory("tests.fake_agents", "create_echo_agent", {"prefix": "sec", "repeat": 2}),
        "capabilities": Capabilities(
            domains=("security", "compliance"),
            operations=("audit", "scan", "report"),
            entities=("vulnerability", "policy", "certificate"),
            keywords=("cve",),
            priority=15,
            examples=("scan the payments service for vulnerabilities", "is our TLS certificate expiring?"),
        ),
        "tags": ("production", "security"),
    }
    fields.update(overrides)
    return Agent(**fields)  # type: ignore[arg-type]


async def test_new_install_starts_with_the_demo_agents(client: RegistryClient) -> None:
    page = await client.list_agents()
    assert {agent.name for agent in page.agents} == DEMO_AGENTS
    assert page.total_size == len(DEMO_AGENTS)
    assert all(agent.state is AgentState.AVAILABLE and agent.enabled for agent in page.agents)
    tickets = await client.get_agent("tickets_agent")
    assert "tickets" in tickets.capabilities.domains
    assert tickets.factory == Factory("registry_server.demo_agents.tickets", "create_tickets_agent", {})


async def test_register_returns_the_stored_agent(client: RegistryClient) -> None:
    registered = await client.register_agent(security_agent())
    assert registered.state is AgentState.AVAILABLE
    assert registered.etag
    assert registered.create_time is not None and registered.create_time == registered.update_time
    fetched = await client.get_agent("security_agent")
    assert fetched == registered
    assert fetched.factory.kwargs == {"prefix": "sec", "repeat": 2}
    assert fetched.capabilities.priority == 15
    assert fetched.tags == ("production", "security")


async def test_register_defaults_enabled_and_can_register_disabled(client: RegistryClient) -> None:
    disabled = await client.register_agent(security_agent("quiet_agent", enabled=False))
    assert disabled.enabled is False
    raw = (await client.stub.RegisterAgent(_raw_register("loud_agent"))).agent
    assert raw.enabled is True


def _raw_register(name: str) -> object:
    from agentregistry.v1 import agent_pb2, registry_service_pb2

    agent = agent_pb2.Agent(
        name=name, factory=agent_pb2.AgentFactory(module=ECHO.module, function=ECHO.function)
    )
    return registry_service_pb2.RegisterAgentRequest(agent=agent)


async def test_async_and_streaming_factories_register(client: RegistryClient) -> None:
    await client.register_agent(Agent("async_agent", Factory("tests.fake_agents", "create_async_echo_agent")))
    await client.register_agent(Agent("stream_agent", Factory("tests.fake_agents", "create_streaming_agent")))
    assert (await client.get_agent("async_agent")).state is AgentState.AVAILABLE
    assert (await client.get_agent("stream_agent")).state is AgentState.AVAILABLE


async def test_list_pages_through_every_agent_once(client: RegistryClient) -> None:
    await client.batch_register_agents([Agent(f"agent_{i:02d}", ECHO) for i in range(23)])
    names, token, pages = [], "", 0
    while True:
        page = await client.list_agents(page_size=5, page_token=token)
        assert page.total_size == 23 + len(DEMO_AGENTS)
        names += [agent.name for agent in page.agents]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == -(-(23 + len(DEMO_AGENTS)) // 5)
    assert names == sorted(names) and len(names) == len(set(names)) == 23 + len(DEMO_AGENTS)
    assert [a.name async for a in client.iter_agents(page_size=7)] == names


async def test_list_filters_combine(client: RegistryClient) -> None:
    await client.register_agent(security_agent())
    await client.register_agent(security_agent("staging_agent", tags=("staging",), enabled=False))

    async def names(**filters: object) -> set[str]:
        page = await client.list_agents(**filters)  # type: ignore[arg-type]
        assert page.total_size == len(page.agents)
        return {agent.name for agent in page.agents}

    assert await names(tag="security") == {"security_agent"}
    assert await names(domain="SECURITY") == {"security_agent", "staging_agent"}
    assert await names(domain="security", enabled=True) == {"security_agent"}
    assert await names(enabled=False) == {"staging_agent"}
    assert await names(tag="production", enabled=True) == DEMO_AGENTS | {"security_agent"}
    assert await names(state=AgentState.UNAVAILABLE) == set()
    assert await names(state=AgentState.AVAILABLE) == DEMO_AGENTS | {"security_agent", "staging_agent"}


async def test_filtered_list_pages(client: RegistryClient) -> None:
    await client.batch_register_agents(
        [Agent(f"t{i:02d}", ECHO, tags=("odd",) if i % 2 else ()) for i in range(20)]
    )
    first = await client.list_agents(tag="odd", page_size=4)
    second = await client.list_agents(tag="odd", page_size=4, page_token=first.next_page_token)
    assert [a.name for a in first.agents] == ["t01", "t03", "t05", "t07"]
    assert [a.name for a in second.agents] == ["t09", "t11", "t13", "t15"]
    last = await client.list_agents(tag="odd", page_size=4, page_token=second.next_page_token)
    assert [a.name for a in last.agents] == ["t17", "t19"] and last.next_page_token == ""


async def test_batch_register_stores_every_agent(client: RegistryClient) -> None:
    stored = await client.batch_register_agents([security_agent("a_agent"), security_agent("b_agent")])
    assert [agent.name for agent in stored] == ["a_agent", "b_agent"]
    assert (await client.list_agents()).total_size == 2 + len(DEMO_AGENTS)


async def test_update_replaces_only_masked_fields(client: RegistryClient) -> None:
    before = await client.register_agent(security_agent())
    after = await client.update_agent("security_agent", etag=before.etag, description="Audits.", priority=99)
    assert after.description == "Audits."
    assert after.capabilities.priority == 99
    assert after.capabilities.domains == before.capabilities.domains
    assert after.tags == before.tags
    assert after.etag != before.etag
    assert after.update_time is not None and before.update_time is not None
    assert after.update_time > before.update_time and after.create_time == before.create_time

    caps = Capabilities(domains=("secops",), keywords=("pentest",), priority=3)
    replaced = await client.update_agent("security_agent", capabilities=caps, tags=["red_team"])
    assert replaced.capabilities == caps
    assert replaced.tags == ("red_team",)


async def test_update_factory_rebuilds_the_agent(client: RegistryClient) -> None:
    await client.register_agent(security_agent())
    new_factory = Factory("tests.fake_agents", "create_streaming_agent")
    updated = await client.update_agent("security_agent", factory=new_factory)
    assert updated.factory == new_factory
    assert updated.state is AgentState.AVAILABLE


async def test_set_enabled_and_delete(client: RegistryClient) -> None:
    agent = await client.register_agent(security_agent())
    disabled = await client.set_agent_enabled("security_agent", False, etag=agent.etag)
    assert disabled.enabled is False and disabled.etag != agent.etag
    assert (await client.get_agent("security_agent")).enabled is False
    enabled = await client.set_agent_enabled("security_agent", True)
    assert enabled.enabled is True
    await client.delete_agent("security_agent", etag=enabled.etag)
    assert "security_agent" not in {a.name for a in (await client.list_agents()).agents}


async def test_export_json_and_yaml_hold_the_registry(client: RegistryClient) -> None:
    await client.register_agent(security_agent())
    as_json = json.loads(await client.export_registry("json"))
    as_yaml = yaml.safe_load(await client.export_registry("yaml"))
    assert as_json == as_yaml
    assert as_json["version"] == "1.0.0"
    assert set(as_json["agents"]) == DEMO_AGENTS | {"security_agent"}
    security = as_json["agents"]["security_agent"]
    assert security["factory"]["kwargs"] == {"prefix": "sec", "repeat": 2}
    assert security["capabilities"]["priority"] == 15
