"""RegistryService error paths: the right code, the field violations, and an unchanged registry file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from agent_registry_client import (
    Agent,
    AgentRegistryError,
    AlreadyExists,
    Capabilities,
    Conflict,
    Factory,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RegistryClient,
    StatusCode,
)
from agentregistry.v1 import agent_pb2, registry_service_pb2
from registry_server.server import RegistryServer
from tests.test_registry_rpcs import ECHO, security_agent

Call = Callable[[RegistryClient], Awaitable[object]]


@pytest.fixture
async def unchanged(server: RegistryServer, client: RegistryClient) -> AsyncIterator[Path]:
    """Registers one agent, then checks at the end that the registry file is byte-for-byte the same."""
    await client.register_agent(security_agent())
    path = server.config.data_dir / "registry_config.json"
    before = path.read_bytes()
    yield path
    assert path.read_bytes() == before, "a refused request changed the registry file"


async def violations_of(call: Awaitable[object]) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as raised:
        await call
    assert raised.value.code is StatusCode.INVALID_ARGUMENT
    return {v.field: v.description for v in raised.value.field_violations}


@pytest.mark.parametrize(
    ("agent", "field"),
    [
        (Agent("Bad_Name", ECHO), "agent.name"),
        (Agent("a", ECHO), "agent.name"),
        (Agent("x" * 64, ECHO), "agent.name"),
        (Agent("has-dash", ECHO), "agent.name"),
        (Agent("ok_agent", Factory("", "create")), "agent.factory.module"),
        (Agent("ok_agent", Factory("not a module", "create")), "agent.factory.module"),
        (Agent("ok_agent", Factory("tests.fake_agents", "")), "agent.factory.function"),
        (Agent("ok_agent", Factory("tests.fake_agents", "create-it")), "agent.factory.function"),
        (Agent("ok_agent", Factory("tests.fake_agents", "f", {"not valid": 1})), "agent.factory.kwargs"),
        (Agent("ok_agent", Factory("tests.fake_agents", "f", {"big": "x" * 20000})), "agent.factory.kwargs"),
        (Agent("ok_agent", ECHO, description="d" * 2001), "agent.description"),
        (
            Agent("ok_agent", ECHO, capabilities=Capabilities(domains=tuple(f"d{i}" for i in range(65)))),
            "agent.capabilities.domains",
        ),
        (
            Agent("ok_agent", ECHO, capabilities=Capabilities(keywords=("k" * 65,))),
            "agent.capabilities.keywords[0]",
        ),
        (
            Agent("ok_agent", ECHO, capabilities=Capabilities(entities=("  ",))),
            "agent.capabilities.entities[0]",
        ),
        (Agent("ok_agent", ECHO, capabilities=Capabilities(priority=-1)), "agent.capabilities.priority"),
        (
            Agent("ok_agent", ECHO, capabilities=Capabilities(examples=tuple(f"e{i}" for i in range(51)))),
            "agent.capabilities.examples",
        ),
        (
            Agent("ok_agent", ECHO, capabilities=Capabilities(examples=("x" * 513,))),
            "agent.capabilities.examples[0]",
        ),
        (Agent("ok_agent", ECHO, tags=("bad tag",)), "agent.tags[0]"),
        (Agent("ok_agent", ECHO, tags=tuple(f"t{i}" for i in range(33))), "agent.tags"),
    ],
)
async def test_register_rejects_invalid_fields(
    client: RegistryClient, unchanged: Path, agent: Agent, field: str
) -> None:
    assert field in await violations_of(client.register_agent(agent))


async def test_register_reports_every_bad_field_at_once(client: RegistryClient, unchanged: Path) -> None:
    agent = Agent("BAD", Factory("", ""), description="d" * 3000, tags=("no spaces",))
    fields = await violations_of(client.register_agent(agent))
    assert {
        "agent.name",
        "agent.factory.module",
        "agent.factory.function",
        "agent.description",
        "agent.tags[0]",
    } <= set(fields)


async def test_register_without_factory_is_invalid(client: RegistryClient, unchanged: Path) -> None:
    request = registry_service_pb2.RegisterAgentRequest(agent=agent_pb2.Agent(name="no_factory"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.RegisterAgent(request)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "agent.factory" in (raised.value.details() or "")


async def test_register_existing_name_already_exists(client: RegistryClient, unchanged: Path) -> None:
    with pytest.raises(AlreadyExists, match="security_agent"):
        await client.register_agent(security_agent())


@pytest.mark.parametrize(
    ("factory", "cause"),
    [
        (Factory("tests.no_such_module", "create"), "cannot import the module: ModuleNotFoundError"),
        (Factory("tests.fake_agents", "create_missing"), "has no callable 'create_missing'"),
        (Factory("tests.fake_agents", "NOT_CALLABLE"), "has no callable 'NOT_CALLABLE'"),
        (
            Factory("tests.fake_agents", "create_raising_agent"),
            "raised RuntimeError: the agent's backend is down",
        ),
        (
            Factory("tests.fake_agents", "create_object_without_run"),
            "object, which has no run(query, context)",
        ),
        (Factory("tests.fake_agents", "create_sync_run_agent"), "whose run method is not async"),
        (Factory("tests.fake_agents", "create_echo_agent", {"unknown_arg": 1}), "raised TypeError"),
    ],
)
async def test_failing_factory_is_refused_and_nothing_stored(
    client: RegistryClient, unchanged: Path, factory: Factory, cause: str
) -> None:
    with pytest.raises(FailedPrecondition) as raised:
        await client.register_agent(Agent("broken_agent", factory))
    assert factory.module in raised.value.message and factory.function in raised.value.message
    assert cause in raised.value.message
    with pytest.raises(NotFound):
        await client.get_agent("broken_agent")


async def test_batch_is_all_or_nothing(client: RegistryClient, unchanged: Path) -> None:
    batch = [Agent("good_one", ECHO), Agent("bad_one", Factory("tests.fake_agents", "create_raising_agent"))]
    with pytest.raises(FailedPrecondition, match="create_raising_agent"):
        await client.batch_register_agents(batch)
    with pytest.raises(AlreadyExists):
        await client.batch_register_agents([Agent("good_two", ECHO), security_agent()])
    fields = await violations_of(client.batch_register_agents([Agent("twin", ECHO), Agent("twin", ECHO)]))
    assert "agents[1].name" in fields
    fields = await violations_of(client.batch_register_agents([Agent("fine_agent", ECHO), Agent("X", ECHO)]))
    assert "agents[1].name" in fields
    assert "agents" in await violations_of(client.batch_register_agents([]))
    names = {a.name for a in (await client.list_agents()).agents}
    assert not names & {"good_one", "good_two", "twin", "fine_agent"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_agent("ghost_agent"),
        lambda c: c.update_agent("ghost_agent", description="x"),
        lambda c: c.set_agent_enabled("ghost_agent", False),
        lambda c: c.delete_agent("ghost_agent"),
        lambda c: c.reload_agent("ghost_agent"),
    ],
)
async def test_unknown_agent_is_not_found(client: RegistryClient, unchanged: Path, call: Call) -> None:
    with pytest.raises(NotFound, match="ghost_agent"):
        await call(client)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_agent("security_agent", etag="stale", description="x"),
        lambda c: c.set_agent_enabled("security_agent", False, etag="stale"),
        lambda c: c.delete_agent("security_agent", etag="stale"),
    ],
)
async def test_stale_etag_is_aborted(client: RegistryClient, unchanged: Path, call: Call) -> None:
    with pytest.raises(Conflict) as raised:
        await call(client)
    assert raised.value.code is StatusCode.ABORTED
    assert "get it again and retry" in raised.value.message


async def test_etag_from_before_a_change_is_stale(client: RegistryClient) -> None:
    first = await client.get_agent("tickets_agent")
    await client.update_agent("tickets_agent", etag=first.etag, description="changed")
    with pytest.raises(Conflict):
        await client.set_agent_enabled("tickets_agent", False, etag=first.etag)
    assert (await client.get_agent("tickets_agent")).enabled is True


async def test_update_mask_errors(client: RegistryClient, unchanged: Path) -> None:
    assert "update_mask" in await violations_of(client.update_agent("security_agent"))
    request = registry_service_pb2.UpdateAgentRequest(agent=agent_pb2.Agent(name="security_agent"))
    request.update_mask.paths.append("name")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.UpdateAgent(request)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask.paths[0]" in (raised.value.details() or "")
    fields = await violations_of(client.update_agent("security_agent", tags=["bad tag"]))
    assert "agent.tags[0]" in fields


async def test_update_with_failing_factory_changes_nothing(client: RegistryClient, unchanged: Path) -> None:
    with pytest.raises(FailedPrecondition, match="create_raising_agent"):
        await client.update_agent(
            "security_agent", factory=Factory("tests.fake_agents", "create_raising_agent")
        )
    assert (await client.get_agent("security_agent")).factory.function == "create_echo_agent"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"page_token": "eyJjIjoxfQ"}, "page_token"),
    ],
)
async def test_list_rejects_bad_paging(client: RegistryClient, kwargs: dict[str, object], field: str) -> None:
    assert field in await violations_of(client.list_agents(**kwargs))  # type: ignore[arg-type]


async def test_page_token_is_bound_to_its_filters(client: RegistryClient) -> None:
    await client.batch_register_agents([Agent(f"p{i}", ECHO, tags=("x",)) for i in range(5)])
    page = await client.list_agents(tag="x", page_size=2)
    assert page.next_page_token
    assert "page_token" in await violations_of(client.list_agents(tag="y", page_token=page.next_page_token))


async def test_oversized_page_is_capped(client: RegistryClient) -> None:
    page = await client.list_agents(page_size=100_000)
    assert len(page.agents) == page.total_size == 3


async def test_errors_are_typed_agent_registry_errors(client: RegistryClient) -> None:
    with pytest.raises(AgentRegistryError) as raised:
        await client.get_agent("ghost_agent")
    assert isinstance(raised.value, NotFound)
    assert "ListAgents" in raised.value.message
