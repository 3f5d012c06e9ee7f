"""The registry survives restarts, corrupt files and kill -9; broken factories never drop an agent."""

from __future__ import annotations

import asyncio
import json
import logging
import textwrap
import uuid
from pathlib import Path

import pytest

from agent_registry_client import Agent, AgentState, Factory, FailedPrecondition, RegistryClient
from registry_server.server import RegistryServer
from tests.conftest import DEMO_AGENTS, StartServer
from tests.server_process import start_server_process
from tests.test_registry_rpcs import ECHO, security_agent


async def agents_by_name(target: str) -> dict[str, Agent]:
    async with RegistryClient(target) as client:
        return {agent.name: agent async for agent in client.iter_agents()}


def comparable(agent: Agent) -> tuple[object, ...]:
    """Everything stored about an agent (runtime state excluded)."""
    return (
        agent.name,
        agent.description,
        agent.factory,
        agent.capabilities,
        agent.tags,
        agent.enabled,
        agent.etag,
        agent.create_time,
        agent.update_time,
    )


async def test_restart_keeps_every_agent_and_field(start: StartServer) -> None:
    first = await start()
    target = f"127.0.0.1:{first.port}"
    async with RegistryClient(target) as client:
        await client.register_agent(security_agent())
        await client.register_agent(security_agent("dormant_agent", enabled=False, tags=("staging",)))
        await client.update_agent("tickets_agent", priority=42, tags=["it", "critical"])
        await client.delete_agent("finops_agent")
    before = await agents_by_name(target)
    await first.stop(0)

    second = await start()
    after = await agents_by_name(f"127.0.0.1:{second.port}")
    assert set(after) == (DEMO_AGENTS - {"finops_agent"}) | {"security_agent", "dormant_agent"}
    assert {n: comparable(a) for n, a in after.items()} == {n: comparable(a) for n, a in before.items()}
    assert after["dormant_agent"].enabled is False
    assert after["tickets_agent"].capabilities.priority == 42
    assert all(agent.state is AgentState.AVAILABLE for agent in after.values())


async def test_changes_go_to_the_journal_and_stop_compacts_them_into_the_snapshot(
    start: StartServer, data_dir: Path
) -> None:
    server = await start()
    primary = data_dir / "registry_config.json"
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        before = primary.read_bytes()
        await client.register_agent(security_agent())
        assert primary.read_bytes() == before, "a change appends to the journal, never rewrites the file"
        journal = b"".join(path.read_bytes() for path in data_dir.glob("registry_journal.*.log"))
        assert b"security_agent" in journal
    await server.stop(0)
    document = json.loads(primary.read_bytes())
    assert document["version"] == "1.0.0" and document["revision"] == 1
    assert set(document["agents"]) == DEMO_AGENTS | {"security_agent"}
    assert document["agents"]["security_agent"]["revision"] == 1
    assert not list(data_dir.glob("*.tmp*"))


async def test_truncated_snapshot_recovers_from_backup_and_journal_losing_nothing(
    start: StartServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        await client.register_agent(security_agent())
        await client.register_agent(security_agent("second_agent"))
    await server.stop(0)
    primary = data_dir / "registry_config.json"
    corrupt_bytes = primary.read_bytes()[: len(primary.read_bytes()) // 2]
    primary.write_bytes(corrupt_bytes)

    caplog.set_level(logging.WARNING)
    recovered = await start()
    agents = await agents_by_name(f"127.0.0.1:{recovered.port}")
    assert set(agents) == DEMO_AGENTS | {"security_agent", "second_agent"}, (
        "the backup snapshot plus the journal after it hold every acknowledged change"
    )
    kept = list(data_dir.glob("registry_config.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == corrupt_bytes
    assert "recovered the registry from registry_config.json.backup" in caplog.text
    assert "registry_config.json is corrupt" in caplog.text
    assert set(json.loads(primary.read_bytes())["agents"]) == set(agents), "a good primary is written again"


async def test_unreadable_snapshots_and_no_journal_start_from_defaults(
    start: StartServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        await client.register_agent(security_agent())
    await server.stop(0)
    (data_dir / "registry_config.json").write_text('{"agents": {corrupt@#$%')
    (data_dir / "registry_config.json.backup").write_text('["not", "a", "registry"]')
    for segment in data_dir.glob("registry_journal.*.log"):
        segment.unlink()

    caplog.set_level(logging.WARNING)
    recovered = await start()
    assert set(await agents_by_name(f"127.0.0.1:{recovered.port}")) == DEMO_AGENTS
    kept = sorted(path.read_text() for path in data_dir.glob("registry_config.json*.corrupt-*"))
    assert kept == sorted(['{"agents": {corrupt@#$%', '["not", "a", "registry"]'])
    assert "created the registry from the defaults file" in caplog.text


async def test_one_bad_record_is_set_aside_and_every_other_agent_loads(
    start: StartServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = {
        f"good{i}_agent": {"factory": {"module": "tests.fake_agents", "function": "create_echo_agent"}}
        for i in range(6)
    }
    bad = {
        "factory": {"module": "tests.fake_agents", "function": "create_echo_agent"},
        "capabilities": {"priority": 10**9},
    }
    odd_name = "evil\nprincipal=ops_agent"
    document = {"version": "1.0.0", "agents": {**good, "bad_agent": bad, odd_name: {"factory": 7}}}
    (data_dir / "registry_config.json").write_text(json.dumps(document))

    caplog.set_level(logging.WARNING)
    server = await start()
    assert set(await agents_by_name(f"127.0.0.1:{server.port}")) == set(good)
    [rejected_file] = data_dir.glob("registry_config.rejected-*.json")
    rejected = {item["name"]: item for item in json.loads(rejected_file.read_text())}
    assert set(rejected) == {"bad_agent", odd_name}
    assert rejected["bad_agent"]["record"] == bad and "priority" in rejected["bad_agent"]["reason"]
    assert "2 agent records could not be loaded" in caplog.text
    assert not any(record.getMessage().count("\n") for record in caplog.records), "names are escaped"
    await server.stop(0)
    assert set(json.loads((data_dir / "registry_config.json").read_text())["agents"]) == set(good)


async def test_original_flat_factory_shape_still_loads(start: StartServer, data_dir: Path) -> None:
    document = {
        "version": "1.0.0",
        "agents": {
            "legacy_agent": {
                "factory_module": "tests.fake_agents",
                "factory_function": "create_echo_agent",
                "capabilities": {"domains": ["legacy"], "priority": 10},
                "tags": ["old"],
                "enabled": True,
            }
        },
    }
    (data_dir / "registry_config.json").write_text(json.dumps(document))
    server = await start()
    agents = await agents_by_name(f"127.0.0.1:{server.port}")
    assert set(agents) == {"legacy_agent"}
    assert agents["legacy_agent"].factory == Factory("tests.fake_agents", "create_echo_agent", {})


async def test_broken_factory_at_startup_keeps_the_agent_unavailable_and_reloadable(
    start: StartServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"plugin_{uuid.uuid4().hex[:8]}"
    monkeypatch.syspath_prepend(str(tmp_path))
    document = {
        "version": "1.0.0",
        "agents": {
            "plugin_agent": {
                "factory": {"module": module, "function": "create"},
                "capabilities": {"domains": ["plugins"]},
            }
        },
    }
    (data_dir / "registry_config.json").write_text(json.dumps(document))

    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        agent = await client.get_agent("plugin_agent")
        assert agent.state is AgentState.UNAVAILABLE
        assert f"No module named '{module}'" in agent.state_message
        assert not server.registry.get("plugin_agent").routable
        unavailable = await client.list_agents(state=AgentState.UNAVAILABLE)
        assert [a.name for a in unavailable.agents] == ["plugin_agent"]

        with pytest.raises(FailedPrecondition, match=module):
            await client.reload_agent("plugin_agent")
        (tmp_path / f"{module}.py").write_text(_plugin_source("v1"))
        reloaded = await client.reload_agent("plugin_agent")
        assert reloaded.state is AgentState.AVAILABLE and reloaded.state_message == ""
        assert server.registry.get("plugin_agent").routable
    assert json.loads((data_dir / "registry_config.json").read_text())["agents"]["plugin_agent"]


async def test_reload_picks_up_changed_code_and_keeps_a_working_agent_on_failure(
    server: RegistryServer, client: RegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"plugin_{uuid.uuid4().hex[:8]}"
    monkeypatch.syspath_prepend(str(tmp_path))
    source = tmp_path / f"{module}.py"
    source.write_text(_plugin_source("version one"))
    await client.register_agent(Agent("plugin_agent", Factory(module, "create")))
    assert await answer_of(server, "plugin_agent") == "version one"

    source.write_text(_plugin_source("version two, longer"))
    reloaded = await client.reload_agent("plugin_agent")
    assert reloaded.state is AgentState.AVAILABLE
    assert await answer_of(server, "plugin_agent") == "version two, longer"

    source.write_text("def create():\n    raise ValueError('bad deploy')\n")
    with pytest.raises(FailedPrecondition, match="bad deploy"):
        await client.reload_agent("plugin_agent")
    still = await client.get_agent("plugin_agent")
    assert still.state is AgentState.AVAILABLE, "a failed reload keeps the working instance"
    assert await answer_of(server, "plugin_agent") == "version two, longer"


async def answer_of(server: RegistryServer, name: str) -> str:
    instance = server.registry.get(name).instance
    assert instance is not None
    return await instance.run("q", {})  # type: ignore[attr-defined]


def _plugin_source(answer: str) -> str:
    return textwrap.dedent(f"""
        class Plugin:
            async def run(self, query, context):
                return {answer!r}

        def create():
            return Plugin()
    """)


async def test_kill_9_during_concurrent_registrations_loses_no_acknowledged_agent(data_dir: Path) -> None:
    process = await start_server_process(data_dir)
    acknowledged: list[str] = []
    enough = asyncio.Event()

    async def register_forever(worker: int) -> None:
        async with RegistryClient(process.target, timeout=5) as client:
            for index in range(10_000):
                name = f"w{worker}_agent_{index}"
                await client.register_agent(Agent(name, ECHO, tags=(f"w{worker}",)))
                acknowledged.append(name)
                if len(acknowledged) >= 40:
                    enough.set()

    workers = [asyncio.create_task(register_forever(w)) for w in range(8)]
    await enough.wait()
    await process.kill()
    results = await asyncio.gather(*workers, return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results), "every worker saw the server die"

    restarted = await start_server_process(data_dir)
    try:
        agents = await agents_by_name(restarted.target)
        missing = set(acknowledged) - set(agents)
        assert not missing, f"acknowledged agents lost by kill -9: {sorted(missing)[:5]}"
        assert not list(data_dir.glob("*.corrupt-*")), "the file left by kill -9 must load cleanly"
        assert not any("recovered" in line for line in restarted.log_lines)
    finally:
        assert await restarted.terminate() == 0
