"""Operating the server: health, reflection with grpcurl, logs, signals, configuration, storage faults."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agent_registry_client import Agent, NotFound, RegistryClient, Unavailable
from agentregistry.v1 import registry_service_pb2
from registry_server.config import ServerConfig, parse_config, shipped_defaults_file
from registry_server.registry import journal
from registry_server.server import RegistryServer
from tests.conftest import DEFAULTS_FILE, REPO, StartServer
from tests.server_process import start_server_process
from tests.test_registry_rpcs import ECHO, security_agent

SERVICES = ["", "agentregistry.v1.RegistryService"]


async def test_health_serving_for_every_service_then_not_serving_on_shutdown(server: RegistryServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in SERVICES:
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(server.stop(5))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        await stopping


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    return subprocess.run(
        [binary, "-plaintext", *args], capture_output=True, text=True, timeout=60, check=False
    )


async def test_grpcurl_admin_calls_from_the_readme(server: RegistryServer) -> None:
    target = f"127.0.0.1:{server.port}"
    listed = await asyncio.to_thread(grpcurl, target, "list")
    assert listed.returncode == 0, listed.stderr
    assert {"agentregistry.v1.RegistryService", "grpc.health.v1.Health"} <= set(listed.stdout.split())

    register = {
        "agent": {
            "name": "security_agent",
            "description": "Security audits",
            "factory": {
                "module": "tests.fake_agents",
                "function": "create_echo_agent",
                "kwargs": {"prefix": "sec"},
            },
            "capabilities": {"domains": ["security"], "entities": ["vulnerability"], "priority": 15},
            "tags": ["production"],
        }
    }
    made = await asyncio.to_thread(
        grpcurl, "-d", json.dumps(register), target, "agentregistry.v1.RegistryService/RegisterAgent"
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["agent"]["state"] == "AGENT_STATE_AVAILABLE"

    page = await asyncio.to_thread(
        grpcurl,
        "-d",
        '{"page_size": 2, "tag": "production"}',
        target,
        "agentregistry.v1.RegistryService/ListAgents",
    )
    body = json.loads(page.stdout)
    assert body["total_size"] == 4 and len(body["agents"]) == 2 and body["next_page_token"]

    health = await asyncio.to_thread(grpcurl, target, "grpc.health.v1.Health/Check")
    assert json.loads(health.stdout) == {"status": "SERVING"}

    missing = await asyncio.to_thread(
        grpcurl, "-d", '{"name": "ghost_agent"}', target, "agentregistry.v1.RegistryService/GetAgent"
    )
    assert missing.returncode != 0 and "NotFound" in missing.stderr


async def test_one_log_line_per_rpc(client: RegistryClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="registry_server.rpc")
    await client.get_agent("tickets_agent")
    with pytest.raises(NotFound):
        await client.get_agent("ghost_agent")
    records = [r for r in caplog.records if r.name == "registry_server.rpc"]
    lines = [r.getMessage() for r in records]
    assert len(lines) == 2
    assert lines[0].startswith("rpc /agentregistry.v1.RegistryService/GetAgent code=OK ms=")
    assert lines[1].startswith("rpc /agentregistry.v1.RegistryService/GetAgent code=NOT_FOUND ms=")
    assert [r.levelno for r in records] == [logging.DEBUG, logging.INFO], "a successful read logs at DEBUG"


async def test_unexpected_error_is_logged_never_sent_to_the_client(
    server: RegistryServer,
    client: RegistryClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(name: str) -> None:
        raise RuntimeError("secret internal detail")

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(server.registry, "get", broken)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetAgent(registry_service_pb2.GetAgentRequest(name="tickets_agent"))
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    assert "secret" not in details and "Traceback" not in details and "reference" in details
    assert "secret internal detail" in caplog.text
    assert "code=INTERNAL" in caplog.text


async def test_disk_failure_is_unavailable_and_changes_nothing(
    server: RegistryServer, client: RegistryClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = server.config.data_dir / "registry_config.json"
    before = path.read_bytes()

    def disk_full(descriptor: int, content: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal, "write_all", disk_full)
    with pytest.raises(Unavailable, match="No space left on device"):
        await client.register_agent(security_agent())
    with pytest.raises(Unavailable):
        await client.delete_agent("tickets_agent")
    monkeypatch.undo()
    with pytest.raises(NotFound):
        await client.get_agent("security_agent")
    assert (await client.get_agent("tickets_agent")).name == "tickets_agent"
    assert path.read_bytes() == before
    assert not list(server.config.data_dir.glob(".*tmp*"))
    assert (await client.register_agent(security_agent())).name == "security_agent"


async def test_startup_line_counts_unavailable_agents_and_sigterm_exits_cleanly(data_dir: Path) -> None:
    document = {
        "version": "1.0.0",
        "agents": {
            "good_agent": {"factory": {"module": "tests.fake_agents", "function": "create_echo_agent"}},
            "broken_agent": {"factory": {"module": "tests.fake_agents", "function": "create_raising_agent"}},
        },
    }
    (data_dir / "registry_config.json").write_text(json.dumps(document))
    process = await start_server_process(data_dir, "--log-level", "info")
    ready = next(line for line in process.log_lines if "ready" in line)
    assert "Registry service ready with 2 agents (1 unavailable: broken_agent: raised RuntimeError" in ready
    async with RegistryClient(process.target) as client:
        await client.register_agent(Agent("late_agent", ECHO))
    assert await process.terminate() == 0
    assert any("Registry service stopped" in line for line in process.log_lines)
    assert "late_agent" in json.loads((data_dir / "registry_config.json").read_text())["agents"]


async def test_invalid_defaults_file_stops_startup_with_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text("agents:\n  Bad Name: {}\n")
    with pytest.raises(RuntimeError, match=r"defaults file .* is invalid"):
        await start_server_process(data_dir, defaults=defaults)


async def test_no_defaults_file_starts_empty(start: StartServer, tmp_path: Path) -> None:
    server = await start(defaults_file=tmp_path / "missing.yaml")
    assert len(server.registry) == 0


def test_flags_win_over_environment_which_wins_over_defaults() -> None:
    assert parse_config([], {}) == ServerConfig()
    env = {
        "AGENT_REGISTRY_HOST": "0.0.0.0",
        "AGENT_REGISTRY_PORT": "9000",
        "AGENT_REGISTRY_DATA_DIR": "/srv/ar",
        "AGENT_REGISTRY_LOG_LEVEL": "debug",
        "AGENT_REGISTRY_DEFAULTS_FILE": "/etc/ar/defaults.yaml",
    }
    from_env = parse_config([], env)
    assert (from_env.host, from_env.port, str(from_env.data_dir), from_env.log_level) == (
        "0.0.0.0",
        9000,
        "/srv/ar",
        "DEBUG",
    )
    assert str(from_env.resolved_defaults_file) == "/etc/ar/defaults.yaml"
    flags = parse_config(
        ["--port", "9100", "--host", "::1", "--data-dir", "d", "--log-level", "warning"], env
    )
    assert (flags.host, flags.port, str(flags.data_dir), flags.log_level) == ("::1", 9100, "d", "WARNING")
    assert parse_config([], {}).resolved_defaults_file == shipped_defaults_file()
    assert shipped_defaults_file().read_bytes() == (REPO / "data" / "default_registry.yaml").read_bytes()


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--log-level", "loud"], ["--port", "x"]])
def test_bad_flags_exit_with_a_message(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_config(argv, {})


def test_default_registry_file_is_the_one_shipped() -> None:
    assert DEFAULTS_FILE.exists()


async def test_container_health_probe(server: RegistryServer) -> None:
    from registry_server.healthcheck import check

    assert await asyncio.to_thread(check, f"127.0.0.1:{server.port}")
    assert await asyncio.to_thread(check, f"127.0.0.1:{server.port}", "agentregistry.v1.RegistryService")
    assert not await asyncio.to_thread(check, f"127.0.0.1:{server.port}", "no.such.Service")
    await server.stop(0)
    assert not await asyncio.to_thread(check, f"127.0.0.1:{server.port}", "", 1.0)


async def test_port_in_use_fails_with_a_clear_message(server: RegistryServer, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(RuntimeError, match=r"could not listen on 127\.0\.0\.1"):
        await start_server_process(other, "--port", str(server.port))


def test_session_settings_from_flags_and_environment() -> None:
    env = {"AGENT_REGISTRY_SESSION_RETENTION_DAYS": "30", "AGENT_REGISTRY_MAX_CONTENT_BYTES": "1000"}
    config = parse_config(["--retention-interval", "60", "--sqlite-busy-timeout-ms", "250"], env)
    assert (config.session_retention_days, config.max_content_bytes) == (30, 1000)
    assert (config.retention_interval_s, config.sqlite_busy_timeout_ms) == (60, 250)
    with pytest.raises(SystemExit):
        parse_config(["--session-retention-days", "0"], {})


async def test_second_server_on_the_same_data_dir_is_refused(
    server: RegistryServer, start: StartServer
) -> None:
    from registry_server.data_dir_lock import DataDirInUseError

    with pytest.raises(DataDirInUseError, match=r"in use by another server \(pid \d+\)"):
        await start()
    assert (await server.sessions.create_session("alice", {})).user_id == "alice"
