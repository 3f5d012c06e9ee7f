"""Hardening of what reaches the log and of connections: each test failed before its fix."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agent_registry_client import Agent, Capabilities, Factory, ResourceExhausted, connect
from agentregistry.v1 import agent_pb2, registry_service_pb2, registry_service_pb2_grpc
from registry_server.api.log_limits import LogRateLimit
from registry_server.auth.principal import MissingPrincipalError, Principal, Role, current_principal
from registry_server.auth.tokens import TokenAuthenticator, TokenEntry
from registry_server.log_output import JsonFormatter, TextFormatter
from registry_server.server import RegistryServer
from tests.conftest import StartServer
from tests.markers import wait_for_path


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "registry_server.audit"]


async def test_a_newline_in_a_name_cannot_forge_an_audit_line(
    server: RegistryServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    forged = "x\n2026-01-01 INFO registry_server.audit: audit principal=ops method=DeleteAgent code=OK"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.DeleteAgent(registry_service_pb2.DeleteAgentRequest(name=forged))
    lines = audit_lines(caplog)
    assert len(lines) == 1 and "\n" not in lines[0] and "\\n" in lines[0]
    formatted = TextFormatter().format(caplog.records[-1])
    assert "\n" not in formatted


async def test_a_huge_name_writes_a_bounded_line(
    server: RegistryServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        agent = agent_pb2.Agent(name="n" * 3_000_000)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))
    written = sum(len(TextFormatter().format(record)) for record in caplog.records)
    assert written < 20_000, f"{written} characters of log for one request"
    assert any("3000000 chars" in line for line in audit_lines(caplog))


def test_formatters_escape_control_characters_and_cap_messages() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "bad %s", ("a\rb\x1b[2Jc\u2028d" + "z" * 10_000,), None
    )
    text = TextFormatter().format(record)
    assert "\r" not in text and "\x1b" not in text and "\u2028" not in text and len(text) < 5_000
    assert "\n" not in JsonFormatter().format(record)


@pytest.fixture
def auth_config(tmp_path: Path) -> Path:
    path = tmp_path / "auth.yaml"
    entry = {"name": "ops", "sha256": hashlib.sha256(b"ops-token").hexdigest(), "roles": ["admin"]}
    path.write_text(yaml.safe_dump({"tokens": [entry]}))
    return path


async def test_calls_refused_before_authentication_are_audited_and_rate_limited(
    start: StartServer, auth_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = await start(auth_config_file=auth_config)
    started = time.monotonic()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        for _ in range(60):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.GetAgent(
                    registry_service_pb2.GetAgentRequest(name="tickets_agent\nforged"),
                    metadata=(("authorization", "Bearer wrong"),),
                )
            assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    lines = audit_lines(caplog)
    assert lines[0].startswith(
        "audit principal=unauthenticated method=GetAgent resource=agents/tickets_agent\\nforged"
    )
    assert "code=UNAUTHENTICATED peer=ipv4:127.0.0.1" in lines[0]
    windows = 1 + int((time.monotonic() - started) // 10)  # the limit: 10 lines per peer per 10 s
    assert 1 <= len(lines) <= 10 * windows, "60 failures from one peer in a burst are not 60 lines"


def test_the_rate_limit_counts_what_it_leaves_out() -> None:
    now = [0.0]
    limit = LogRateLimit("test", per_window=3, window_s=10, clock=lambda: now[0])
    assert [limit.admit("peer") for _ in range(5)] == [0, 0, 0, None, None]
    assert limit.admit("other") == 0
    now[0] = 11
    assert limit.admit("peer") == 2, "the next line says how many were left out"


def test_the_bearer_scheme_is_case_insensitive() -> None:
    alice = Principal("alice", frozenset({Role.ADMIN}))
    authenticator = TokenAuthenticator([TokenEntry(hashlib.sha256(b"secret").hexdigest(), alice)])
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        assert authenticator.authenticate(f"{scheme} secret") == alice


def test_a_missing_principal_raises_instead_of_meaning_admin() -> None:
    with pytest.raises(MissingPrincipalError):
        current_principal()


async def test_silent_connections_are_closed_after_the_handshake_timeout(start: StartServer) -> None:
    server = await start(handshake_timeout_s=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as silent:
        # Reads the server's HTTP/2 preface, then blocks until the server closes the socket, or fails at the
        # 15 s safety deadline (before the fix, a silent socket stayed open for 120 s).
        assert await asyncio.to_thread(read_until_closed, silent)


def read_until_closed(sock: socket.socket) -> bool:
    """True once the peer closed the connection; raises TimeoutError if it stays open."""
    while sock.recv(4096):
        pass
    return True


async def test_idle_connections_are_closed(start: StartServer) -> None:
    server = await start(max_connection_idle_s=0.3)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert channel.get_state() is grpc.ChannelConnectivity.READY
        deadline = time.monotonic() + 15
        while channel.get_state() is grpc.ChannelConnectivity.READY and time.monotonic() < deadline:
            await channel.wait_for_state_change(grpc.ChannelConnectivity.READY)
        assert channel.get_state() is not grpc.ChannelConnectivity.READY, "the server sent GOAWAY"


async def test_concurrent_rpcs_are_capped_but_health_still_answers(
    start: StartServer, tmp_path: Path
) -> None:
    server = await start(max_concurrent_rpcs=2)
    marker = tmp_path / "stuck"
    async with connect(f"127.0.0.1:{server.port}") as client:
        await client.registry.register_agent(
            Agent(
                name="stuck_agent",
                factory=Factory("tests.fake_agents", "create_hanging_agent", {"marker": str(marker)}),
                capabilities=Capabilities(domains=("hangs",)),
            )
        )
        turns = [
            asyncio.ensure_future(anext(client.router.route_and_invoke("hangs", user_id="alice")))
            for _ in range(2)
        ]
        await wait_for_path(marker.with_suffix(".started"))
        deadline = time.monotonic() + 15
        refused = None
        while refused is None and time.monotonic() < deadline:  # until both turns are in flight
            try:
                await client.registry.get_agent("stuck_agent")
            except ResourceExhausted as error:
                refused = error
        assert refused is not None and "concurrent" in refused.message
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        for turn in turns:
            turn.cancel()
        await asyncio.gather(*turns, return_exceptions=True)


def test_connection_limits_are_flags() -> None:
    from registry_server.config import parse_config

    config = parse_config(
        [
            "--max-concurrent-rpcs=7",
            "--handshake-timeout=3",
            "--max-connection-idle=30",
            "--max-connection-age=600",
            "--keepalive-time=20",
        ],
        {"AGENT_REGISTRY_MIN_CLIENT_PING_INTERVAL": "5"},
    )
    assert (config.max_concurrent_rpcs, config.handshake_timeout_s, config.max_connection_idle_s) == (
        7,
        3,
        30,
    )
    assert (config.max_connection_age_s, config.keepalive_time_s, config.min_client_ping_interval_s) == (
        600,
        20,
        5,
    )
    with pytest.raises(SystemExit):
        parse_config(["--max-connection-idle=0"], {})
