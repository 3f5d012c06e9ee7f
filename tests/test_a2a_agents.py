"""Remote A2A agents: registration by URL and by card, masked headers, streaming, failures, cancellation."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
import yaml

from agent_registry_client import (
    A2AEndpoint,
    Agent,
    AgentResult,
    AgentState,
    Capabilities,
    Factory,
    RegistryClient,
    RouterClient,
)
from agent_registry_client.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from agentregistry.v1 import registry_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2_grpc
from registry_server.agents.a2a.runtime import A2ATaskError, build_a2a_agent
from registry_server.domain.agent import A2AEndpoint as DomainEndpoint
from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import ValidationError
from registry_server.registry.validation import normalise_spec
from tests.a2a_servers import ChunkAgent, RecordingExecutor, a2a_server, free_socket

SECRET = "Bearer s3cret-token-value"
WEATHER = Capabilities(domains=("weather",), keywords=("rain", "forecast"))


async def test_register_by_url_keeps_the_card_and_masks_headers(client, server):
    agent = ChunkAgent(["Sunny ", "all ", "day."])
    async with a2a_server(agent) as url:
        registered = await client.register_agent(
            Agent("weather_agent", a2a=A2AEndpoint(url, {"Authorization": SECRET}), capabilities=WEATHER)
        )
        assert registered.state is AgentState.AVAILABLE
        assert registered.description == "Forecasts the weather"
        card = registered.a2a.card
        assert (card.name, card.streaming) == ("Weather Agent", True)
        assert [skill.name for skill in card.skills] == ["forecast"]
        assert card.skills[0].examples == ("will it rain tomorrow", "weather in Paris")
        for shown in (registered, await client.get_agent("weather_agent")):
            assert shown.a2a.headers == {"Authorization": "Bear…"}
        exported = await client.export_registry()
        assert SECRET not in exported and "Bear…" in exported
        stored = [path.read_bytes() for path in server.config.data_dir.rglob("*") if path.is_file()]
        assert any(json.dumps(SECRET).encode() in content for content in stored)  # kept in full on disk


async def test_headers_reach_the_agent_and_a_masked_update_keeps_them(client, server):
    agent = ChunkAgent(["ok"])
    executor = RecordingExecutor(agent)
    async with a2a_server(agent, executor=executor) as url:
        await client.register_agent(
            Agent("weather_agent", a2a=A2AEndpoint(url, {"Authorization": SECRET}), capabilities=WEATHER)
        )
        shown = (await client.get_agent("weather_agent")).a2a
        updated = await client.update_agent(
            "weather_agent", a2a=A2AEndpoint(url, {**shown.headers, "X-Team": "forecasting-team"})
        )
        assert updated.a2a.headers == {"Authorization": "Bear…", "X-Team": "fore…"}
        instance = server.registry.get("weather_agent").instance
        chunks = [chunk async for chunk in instance.run("rain?", {})]
        assert chunks == ["ok"]
        assert executor.headers[-1]["authorization"] == SECRET
        assert executor.headers[-1]["x-team"] == "forecasting-team"


async def test_import_agent_card_derives_capabilities_an_admin_can_edit(client):
    async with a2a_server(ChunkAgent(["ok"])) as url:
        imported = await client.import_agent_card(url)
        assert imported.name == "weather_agent"
        assert imported.description == "Forecasts the weather"
        assert set(imported.capabilities.keywords) == {"forecast", "weather", "rain"}
        assert imported.capabilities.examples == ("will it rain tomorrow", "weather in Paris")
        assert imported.a2a.url == url
        named = await client.import_agent_card(url, name="meteo_agent")
        assert named.name == "meteo_agent"
        with pytest.raises(AlreadyExists):
            await client.import_agent_card(url)
        retried = [
            await client.import_agent_card(url, name="retry_agent", request_id="import-1") for _ in "ab"
        ]
        assert retried[0] == retried[1]  # a retry with the same request id is applied once
        edited = await client.update_agent("weather_agent", capabilities=Capabilities(domains=("meteo",)))
        assert edited.capabilities.domains == ("meteo",)
        assert edited.a2a.card.name == "Weather Agent"


async def test_an_unreachable_url_is_refused_and_nothing_is_stored(client):
    with free_socket() as sock:  # bound but not listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        before = (await client.list_agents()).total_size
        with pytest.raises(FailedPrecondition) as raised:
            await client.register_agent(Agent("gone_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        assert f"{url}/.well-known/agent-card.json" in str(raised.value)
        assert "ConnectError" in str(raised.value)
        with pytest.raises(FailedPrecondition, match=r"agent-card\.json"):
            await client.import_agent_card(url)
        assert (await client.list_agents()).total_size == before
        with pytest.raises(NotFound):
            await client.get_agent("gone_agent")


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"<html>not json</html>", "parse JSON"),
        (b'{"description": "no name", "supportedInterfaces": []}', "no name"),
        (b'{"name": "Nameless", "skills": "not a list"}', "validate agent card"),
        (
            b'{"name": "Grpc Only", "supportedInterfaces": '
            b'[{"url": "http://127.0.0.1:1", "protocolBinding": "GRPC"}]}',
            "no JSON-RPC interface",
        ),
    ],
)
async def test_an_invalid_card_is_refused_and_nothing_is_stored(client, body, cause):
    async with a2a_server(None, card_json=body) as url:
        with pytest.raises(FailedPrecondition) as raised:
            await client.register_agent(Agent("bad_card_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        assert url in str(raised.value) and cause in str(raised.value)
        with pytest.raises(NotFound):
            await client.get_agent("bad_card_agent")


@pytest.mark.parametrize(
    ("agent", "field"),
    [
        (Agent("x_agent", a2a=A2AEndpoint("ftp://example.com")), "agent.a2a.url"),
        (Agent("x_agent", a2a=A2AEndpoint("http://127.0.0.1:1", {"Bad Name": "v"})), "agent.a2a.headers"),
        (
            Agent("x_agent", a2a=A2AEndpoint("http://127.0.0.1:1", {"X-A": "line\r\nbreak"})),
            "agent.a2a.headers",
        ),
        (Agent("x_agent"), "agent.factory"),
    ],
)
async def test_a_malformed_endpoint_is_invalid_argument_before_any_network(client, agent, field):
    with pytest.raises(InvalidArgument) as raised:
        await client.register_agent(agent)
    assert field in str(raised.value)


def test_a_spec_with_both_factory_and_a2a_is_invalid():
    spec = AgentSpec(
        "both_agent", FactoryRef("tests.fake_agents", "create_echo_agent"), a2a=DomainEndpoint("http://h")
    )
    with pytest.raises(ValidationError, match=r"agent\.a2a: give either factory or a2a, not both"):
        normalise_spec(spec)


async def test_streamed_chunks_arrive_in_order_before_the_answer_ends():
    agent = ChunkAgent(["one ", "two ", "three"])
    agent.gate = asyncio.Event()
    async with a2a_server(agent) as url:
        remote = await build_a2a_agent("weather_agent", DomainEndpoint(url))
        answer = remote.run("rain?", {})
        first = await anext(answer)
        assert first == "one "  # arrived while the agent was still held before its second chunk
        agent.gate.set()
        assert [chunk async for chunk in answer] == ["two ", "three"]
        await remote.aclose()


async def test_a_non_streaming_agent_answers_whole():
    async with a2a_server(ChunkAgent(["a", "b"]), streaming=False) as url:
        remote = await build_a2a_agent("weather_agent", DomainEndpoint(url))
        assert not remote.streaming
        assert [chunk async for chunk in remote.run("rain?", {})] == ["ab"]
        await remote.aclose()


async def test_a_failed_remote_task_raises_with_the_agents_reason():
    async with a2a_server(ChunkAgent(["partial"], fail=True)) as url:
        remote = await build_a2a_agent("weather_agent", DomainEndpoint(url))
        with pytest.raises(
            A2ATaskError, match="the remote task failed: RuntimeError: the weather service is down"
        ):
            [chunk async for chunk in remote.run("rain?", {})]
        await remote.aclose()


async def test_a_failed_remote_task_is_that_agents_failed_result(client, server):
    async with (
        a2a_server(ChunkAgent(["partial"], fail=True)) as url,
        RouterClient(f"127.0.0.1:{server.port}") as router,
    ):
        await client.register_agent(Agent("weather_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        events = [event async for event in router.route_and_invoke("rain weather", user_id="ann")]
        (result,) = [event for event in events if isinstance(event, AgentResult)]
        assert result.agent_name == "weather_agent" and not result.success
        assert "the weather service is down" in result.error


async def test_closing_a_run_early_cancels_the_remote_task():
    agent = ChunkAgent(["one ", "two"])
    agent.gate = asyncio.Event()
    executor = RecordingExecutor(agent)
    async with a2a_server(agent, executor=executor) as url:
        remote = await build_a2a_agent("weather_agent", DomainEndpoint(url))
        answer = remote.run("rain?", {})
        assert await anext(answer) == "one "
        await answer.aclose()  # what a cancelled RouteAndInvoke does to a running agent
        async with asyncio.timeout(10):
            await executor.cancel_seen.wait()
        assert len(executor.cancelled) == 1 and executor.cancelled[0]
        await remote.aclose()


async def test_a_deadline_cancels_the_remote_task():
    agent = ChunkAgent(["one ", "two"])
    agent.gate = asyncio.Event()
    executor = RecordingExecutor(agent)
    async with a2a_server(agent, executor=executor) as url:
        remote = await build_a2a_agent("weather_agent", DomainEndpoint(url))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):  # the invoker's per-agent deadline
                [chunk async for chunk in remote.run("rain?", {})]
        async with asyncio.timeout(10):
            await executor.cancel_seen.wait()
        await remote.aclose()


async def test_route_and_invoke_sends_the_previous_turn_as_context(client, server):
    agent = ChunkAgent(["It will rain."])
    executor = RecordingExecutor(agent)
    async with a2a_server(agent, executor=executor) as url:
        await client.register_agent(Agent("weather_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        async with RouterClient(f"127.0.0.1:{server.port}") as router:
            first = [event async for event in router.route_and_invoke("rain weather", user_id="ann")]
            session_id = first[-1].session_id
            assert first[-1].combined_response == "It will rain."
            [event async for event in router.route_and_invoke("more rain details", session_id=session_id)]
        query, context = agent.queries[-1]
        assert query == "more rain details"
        assert context["previous_query"] == "rain weather"
        assert context["previous_response"] == "It will rain."
        assert context["session_id"] == session_id
        assert executor.context_ids == [session_id, session_id]  # one A2A context per session


async def test_import_agent_card_refuses_a_bad_name_before_any_network(server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.ImportAgentCard(pb.ImportAgentCardRequest(url="http://127.0.0.1:1", name="Bad Name"))
        assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_readme_registers_a_remote_agent_by_url(client, server):
    from tests.test_readme import readme_block

    imports, _, body = readme_block("python", "from agent_registry_client import A2AEndpoint").partition(
        "\n\n"
    )
    async with a2a_server(ChunkAgent(["ok"])) as url:
        body = body.replace("localhost:8003", f"127.0.0.1:{server.port}").replace(
            "http://127.0.0.1:5001", url
        )
        namespace: dict = {}
        code = imports + "\n\nasync def main():\n" + "\n".join(f"    {line}" for line in body.splitlines())
        exec(compile(code, "README.md", "exec"), namespace)
        await namespace["main"]()
    agent = await client.get_agent("remote_tickets_agent")
    assert agent.a2a.url == url and agent.capabilities.domains == ("tickets",)


async def test_a_card_name_that_is_no_agent_name_needs_a_name(client):
    interface = b'{"url": "http://127.0.0.1:1", "protocolBinding": "JSONRPC"}'
    body = b'{"name": "!!!", "supportedInterfaces": [' + interface + b"]}"
    async with a2a_server(None, card_json=body) as url:
        with pytest.raises(InvalidArgument, match="give a name"):
            await client.import_agent_card(url)
        assert (await client.import_agent_card(url, name="bang_agent")).name == "bang_agent"


async def test_moving_an_agent_to_an_unreachable_url_changes_nothing(client):
    async with a2a_server(ChunkAgent(["ok"])) as url:
        before = await client.register_agent(
            Agent("weather_agent", a2a=A2AEndpoint(url, {"Authorization": SECRET}), capabilities=WEATHER)
        )
    with free_socket() as sock:
        gone = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(FailedPrecondition, match="ConnectError"):
            await client.update_agent("weather_agent", a2a=A2AEndpoint(gone))
    after = await client.get_agent("weather_agent")
    assert (after.a2a.url, after.etag) == (url, before.etag)


async def test_an_update_can_switch_an_agent_between_factory_and_a2a(client):
    async with a2a_server(ChunkAgent(["ok"])) as url:
        remote = await client.update_agent("tickets_agent", a2a=A2AEndpoint(url))
        assert remote.factory is None and remote.a2a.card.name == "Weather Agent"
        local = await client.update_agent(
            "tickets_agent", factory=Factory("registry_server.demo_agents.tickets", "create_tickets_agent")
        )
        assert local.a2a is None and local.factory.function == "create_tickets_agent"


async def test_a_remote_agent_and_its_headers_survive_a_restart(start):
    agent = ChunkAgent(["ok"])
    executor = RecordingExecutor(agent)
    async with a2a_server(agent, executor=executor) as url:
        first = await start()
        async with RegistryClient(f"127.0.0.1:{first.port}") as client:
            await client.register_agent(
                Agent("weather_agent", a2a=A2AEndpoint(url, {"Authorization": SECRET}), capabilities=WEATHER)
            )
        await first.stop(0)
        second = await start()
        async with RegistryClient(f"127.0.0.1:{second.port}") as client:
            restored = await client.get_agent("weather_agent")
        assert restored.state is AgentState.AVAILABLE
        assert (restored.a2a.url, restored.a2a.headers) == (url, {"Authorization": "Bear…"})
        assert restored.a2a.card.name == "Weather Agent"
        [chunk async for chunk in second.registry.get("weather_agent").instance.run("rain?", {})]
        assert executor.headers[-1]["authorization"] == SECRET


async def test_agentctl_registers_a_remote_agent_from_a_file(client, server, tmp_path):
    from tests.test_agentctl import agentctl

    async with a2a_server(ChunkAgent(["ok"])) as url:
        path = tmp_path / "remote.yaml"
        record = {"name": "weather_agent", "a2a": {"url": url, "headers": {"Authorization": SECRET}}}
        path.write_text(yaml.safe_dump(record))
        registered = await agentctl(server, "-o", "json", "agents", "register", "-f", str(path))
        assert registered.code == 0, registered.err
        assert SECRET not in registered.out
        agent = await client.get_agent("weather_agent")
        assert agent.a2a.url == url and agent.state is AgentState.AVAILABLE
