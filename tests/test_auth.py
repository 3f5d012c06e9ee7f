"""Authentication, roles, per-user isolation and the audit log, end to end."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agent_registry_client import (
    Agent,
    AgentRegistryError,
    Completed,
    Factory,
    Invocation,
    NotFound,
    PermissionDenied,
    RegistryClient,
    Role,
    RouterClient,
    SessionClient,
    StatusCode,
    Unauthenticated,
)
from agentregistry.v1 import registry_service_pb2
from registry_server.auth.tokens import AuthConfigError, load_auth_config
from registry_server.config import ServerConfig
from registry_server.server import RegistryServer, UnsafeListenError, start_server
from tests.conftest import StartServer
from tests.server_process import start_server_process
from tests.test_server_operations import grpcurl

ROLES = {
    "ops": ["admin"],
    "jarvis": ["service"],
    "auditor": ["reader"],
    "alice_cli": ["user"],
    "bob_cli": ["user"],
}
USERS = {"alice_cli": "alice", "bob_cli": "bob"}


@pytest.fixture
def tokens(tmp_path: Path) -> dict[str, str]:
    """A secret token per holder, and the auth config holding only their hashes."""
    secrets_by_name = {name: secrets.token_urlsafe(24) for name in ROLES}
    entries = []
    for name, roles in ROLES.items():
        entry = {
            "name": name,
            "sha256": hashlib.sha256(secrets_by_name[name].encode()).hexdigest(),
            "roles": roles,
        }
        if name in USERS:
            entry["user_id"] = USERS[name]
        entries.append(entry)
    (tmp_path / "auth.yaml").write_text(yaml.safe_dump({"tokens": entries}))
    return secrets_by_name


@pytest.fixture
async def secured(start: StartServer, tmp_path: Path, tokens: dict[str, str]) -> RegistryServer:
    return await start(auth_config_file=tmp_path / "auth.yaml")


@pytest.fixture
async def clients(secured: RegistryServer, tokens: dict[str, str]) -> AsyncIterator[dict[str, tuple]]:
    target = f"127.0.0.1:{secured.port}"
    opened = {
        name: (
            RegistryClient(target, token=token),
            SessionClient(target, token=token),
            RouterClient(target, token=token),
        )
        for name, token in tokens.items()
    }
    yield opened
    for trio in opened.values():
        for client in trio:
            await client.close()


async def test_missing_unknown_or_malformed_tokens_are_unauthenticated(secured: RegistryServer) -> None:
    target = f"127.0.0.1:{secured.port}"
    for token in ("", "not-a-known-token"):
        async with RegistryClient(target, token=token) as client:
            with pytest.raises(Unauthenticated):
                await client.list_agents()
    async with grpc.aio.insecure_channel(target) as channel, RegistryClient(channel=channel) as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.stub.ListAgents(
                registry_service_pb2.ListAgentsRequest(), metadata=(("authorization", "Basic dXNlcjpwYXNz"),)
            )
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_health_and_reflection_stay_open(secured: RegistryServer) -> None:
    target = f"127.0.0.1:{secured.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    listed = await asyncio.to_thread(grpcurl, target, "list")
    assert "agentregistry.v1.RouterService" in listed.stdout


Call = Callable[[tuple], Awaitable[object]]
NEW_AGENT = Agent("probe_agent", Factory("tests.fake_agents", "create_echo_agent"))
CALLS: dict[str, Call] = {
    "ListAgents": lambda c: c[0].list_agents(),
    "GetAgent": lambda c: c[0].get_agent("tickets_agent"),
    "SearchAgents": lambda c: c[0].search_agents("tickets"),
    "ExportRegistry": lambda c: c[0].export_registry(),
    "RegisterAgent": lambda c: c[0].register_agent(NEW_AGENT),
    "SetAgentEnabled": lambda c: c[0].set_agent_enabled("finops_agent", True),
    "CreateSession": lambda c: c[1].create_session("alice"),
    "ListSessions": lambda c: c[1].list_sessions(),
    "GetSessionStats": lambda c: c[1].get_session_stats(),
    "PurgeExpiredSessions": lambda c: c[1].purge_expired_sessions(),
    "Route": lambda c: c[2].route("show my tickets"),
}
ALLOWED = {
    "ops": set(CALLS),
    "jarvis": {
        "ListAgents",
        "GetAgent",
        "SearchAgents",
        "ExportRegistry",
        "CreateSession",
        "ListSessions",
        "GetSessionStats",
        "Route",
    },
    "auditor": {"ListAgents", "GetAgent", "SearchAgents", "ExportRegistry"},
    "alice_cli": {"ListSessions", "GetSessionStats", "Route"},
}


@pytest.mark.parametrize("holder", sorted(ALLOWED))
async def test_roles_gate_every_call(clients: dict[str, tuple], holder: str) -> None:
    for method, call in CALLS.items():
        if method in ALLOWED[holder]:
            await call(clients[holder])
        else:
            with pytest.raises(PermissionDenied, match=f"may not call {method}"):
                await call(clients[holder])


async def test_users_see_only_their_own_sessions(clients: dict[str, tuple]) -> None:
    alice_router, bob_sessions, bob_router = (
        clients["alice_cli"][2],
        clients["bob_cli"][1],
        clients["bob_cli"][2],
    )
    *_, done = [event async for event in alice_router.route_and_invoke("show my tickets")]
    assert isinstance(done, Completed)
    jarvis_sessions = clients["jarvis"][1]
    alices = await jarvis_sessions.get_session(done.session_id)
    assert alices.user_id == "alice", "a user's turn is recorded as that user"
    await jarvis_sessions.create_session("bob")

    with pytest.raises(NotFound) as missing:
        await bob_sessions.get_session(done.session_id)
    with pytest.raises(NotFound) as truly_missing:
        await bob_sessions.get_session("no_such_session_id")
    assert missing.value.message.replace(done.session_id, "X") == truly_missing.value.message.replace(
        "no_such_session_id", "X"
    ), "another user's session looks exactly like a missing one"
    with pytest.raises(NotFound):
        await bob_sessions.export_session(done.session_id)
    with pytest.raises(NotFound):
        async for _ in bob_router.route_and_invoke("show me the details", session_id=done.session_id):
            pass
    with pytest.raises(PermissionDenied):
        await bob_sessions.list_sessions(user_id="alice")
    assert {s.user_id for s in (await bob_sessions.list_sessions()).sessions} == {"bob"}
    with pytest.raises(PermissionDenied):
        async for _ in bob_router.route_and_invoke("show my tickets", user_id="alice"):
            pass
    with pytest.raises(PermissionDenied):
        await bob_sessions.get_session_stats(user_id="alice")
    assert await bob_sessions.get_session_stats() == []
    alice_stats = await clients["alice_cli"][1].get_session_stats()
    assert [s.agent_name for s in alice_stats] == ["tickets_agent"]
    with pytest.raises(PermissionDenied):
        await bob_sessions.append_history(done.session_id, Role.USER, "sneaky")
    with pytest.raises(PermissionDenied):
        await bob_sessions.record_invocation(done.session_id, Invocation("tickets_agent", "q"))


async def test_audit_lines_name_who_what_and_which(
    clients: dict[str, tuple], tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await clients["ops"][0].register_agent(NEW_AGENT)
    with pytest.raises(PermissionDenied):
        await clients["auditor"][0].delete_agent("probe_agent")
    session = await clients["jarvis"][1].create_session("carol")
    await clients["jarvis"][1].append_history(session.session_id, Role.USER, "hello")
    await clients["ops"][0].get_agent("probe_agent")  # a read: no audit line
    audit = [r.getMessage() for r in caplog.records if r.name == "registry_server.audit"]
    assert audit == [
        "audit principal=ops method=RegisterAgent resource=agents/probe_agent code=OK",
        "audit principal=auditor method=DeleteAgent resource=agents/probe_agent code=PERMISSION_DENIED",
        "audit principal=jarvis method=CreateSession resource=users/carol/sessions/new code=OK",
        f"audit principal=jarvis method=AppendHistory resource=sessions/{session.session_id} code=OK",
    ]
    assert not any(token in caplog.text for token in tokens.values()), "a token reached the log"


async def test_safe_defaults_refuse_exposed_unauthenticated_servers(data_dir: Path, tmp_path: Path) -> None:
    config = ServerConfig(host="0.0.0.0", port=0, data_dir=data_dir)
    with pytest.raises(UnsafeListenError, match="--allow-unauthenticated"):
        await start_server(config)
    assert not (data_dir / "sessions.db").exists(), "refused before touching anything"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry_server",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 1 and b"refusing to listen on 0.0.0.0 without authentication" in err


async def test_loopback_without_auth_warns(start: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    await start()
    assert "authentication is off: every caller is trusted" in caplog.text


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"tokens": []}, "non-empty list"),
        ({"tokens": [{"name": "x", "sha256": "abc", "roles": ["admin"]}]}, "64 lower-case hex"),
        ({"tokens": [{"name": "x", "sha256": "a" * 64, "roles": ["root"]}]}, "'roles' must list"),
        ({"tokens": [{"name": "x", "sha256": "a" * 64, "roles": ["user"]}]}, "needs a 'user_id'"),
        (
            {
                "tokens": [
                    {"name": "x", "sha256": "a" * 64, "roles": ["admin"]},
                    {"name": "y", "sha256": "a" * 64, "roles": ["admin"]},
                ]
            },
            "same sha256",
        ),
    ],
)
def test_bad_auth_configs_are_refused(tmp_path: Path, document: dict, problem: str) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(AuthConfigError, match=problem):
        load_auth_config(path)


async def test_server_with_a_bad_auth_config_exits_with_the_reason(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "auth.yaml").write_text("tokens: [{name: x, sha256: nope, roles: [admin]}]")
    with pytest.raises(RuntimeError, match="sha256"):
        await start_server_process(data_dir, "--auth-config", str(tmp_path / "auth.yaml"))


def test_make_token_prints_a_token_and_its_hash() -> None:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry_server.auth.make_token",
            "--name",
            "alice-cli",
            "--role",
            "user",
            "--user-id",
            "alice",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token = output.splitlines()[0].rsplit(": ", 1)[1]
    [entry] = yaml.safe_load(output.split("'tokens:'):\n", 1)[1])
    assert entry == {
        "name": "alice-cli",
        "sha256": hashlib.sha256(token.encode()).hexdigest(),
        "roles": ["user"],
        "user_id": "alice",
    }


async def test_typed_errors_carry_the_codes(clients: dict[str, tuple]) -> None:
    with pytest.raises(AgentRegistryError) as raised:
        await clients["auditor"][0].register_agent(NEW_AGENT)
    assert raised.value.code is StatusCode.PERMISSION_DENIED
