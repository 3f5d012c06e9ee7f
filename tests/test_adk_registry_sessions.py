"""An ADK agent's session lives in the registry, keyed (agent name, user, registry session id).

Agents run through RouteAndInvoke and keep their ADK sessions over the server's private agent-session socket,
with a token the server mints for its workers; these tests read what they stored with the real client.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.adk.errors._stale_session_error import StaleSessionError
from google.adk.events import Event
from google.adk.sessions import InMemorySessionService
from google.adk.sessions import Session as AdkSession
from google.adk.sessions.base_session_service import GetSessionConfig

import tests.adk_session_agents as gated
from agent_registry_client import (
    AgentResult,
    Factory,
    PermissionDenied,
    RegistryClient,
    RouterClient,
    SessionClient,
    Unauthenticated,
)
from agent_registry_client.adk import RegistrySessionService
from agent_registry_client.errors import AgentRegistryError, StatusCode
from agent_registry_client.session_models import Role as HistoryRole
from agent_registry_client.session_models import SessionEvent
from registry_server.agents.adk_stale_retry import MAX_STALE_RETRIES, StaleRetryingSessionService
from registry_server.auth.policy import authorize, rule_for
from registry_server.auth.principal import Role
from registry_server.auth.tokens import AuthConfigError, load_auth_config
from registry_server.auth.worker_credential import AGENT_WORKERS
from registry_server.domain.errors import PermissionDeniedError
from registry_server.domain.failure_text import AgentFailedError
from registry_server.server import RegistryServer
from tests.agent_turns import ask, register, result_of, session_of
from tests.conftest import StartServer

AGENTS = "tests.adk_session_agents"
NOTING = "noting_agent"
PREFIX = "Previous turn, for context."


async def register_noting(server: RegistryServer) -> None:
    await register(server, NOTING, Factory(AGENTS, "create_noting_agent"), "notes")


async def answer(server: RegistryServer, query: str, session_id: str = "") -> tuple[str, str]:
    """The noting agent's answer to `query`, and the session of the turn."""
    events = await ask(server, query, session_id)
    result = result_of(events, NOTING)
    assert result.success, result.error
    return result.response, session_of(events)


async def adk_session(server: RegistryServer, app_name: str, session_id: str) -> AdkSession:
    """The ADK session as a user of the client reads it from the public port."""
    service = RegistrySessionService(target=f"127.0.0.1:{server.port}")
    try:
        stored = await service.get_session(app_name=app_name, user_id="alice", session_id=session_id)
    finally:
        await service.close()
    assert stored is not None, f"no ADK session ({app_name}, alice, {session_id})"
    return stored


def texts(session: AdkSession, author: str) -> list[str]:
    """The texts of the session's events by `author`, in order."""
    return [
        "".join(part.text or "" for part in event.content.parts or ())
        for event in session.events
        if event.author == author and event.content
    ]


@pytest.mark.parametrize("workers", [1, 0])
async def test_a_turn_is_stored_in_the_agents_own_session_with_its_state(
    start: StartServer, workers: int
) -> None:
    server = await start(agent_workers=workers)
    await register_noting(server)
    reply, session_id = await answer(server, "notes: remember the blue door")
    stored = await adk_session(server, NOTING, session_id)
    assert [event.author for event in stored.events] == ["user", "noter"]
    assert texts(stored, "user") == ["notes: remember the blue door"]
    assert texts(stored, "noter") == [reply]
    assert stored.state["last_answer"] == reply, "the agent's output_key state is stored with its event"
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        routed = await sessions.get_session_page(session_id, app_name="default", user_id="alice")
    assert [entry.content for entry in routed.session.history] == ["notes: remember the blue door", reply]
    assert routed.session.event_count == 0, "the router's own session holds no ADK events"
    async with RouterClient(f"127.0.0.1:{server.port}") as router:
        decision = await router.route("notes: and then", session_id=session_id)
    assert decision.selected_agents == (NOTING,), "the id still names the router's session for routing"


async def test_deleting_the_routed_session_lets_retention_delete_the_agents(server: RegistryServer) -> None:
    await register_noting(server)
    _, session_id = await answer(server, "notes: remember the blue door")
    await adk_session(server, NOTING, session_id)
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        own = await sessions.create_session("alice", app_name=NOTING, session_id="not-routed")
        assert await sessions.purge_expired_sessions() == 0, "its routed session still exists"
        await sessions.delete_session(session_id, app_name="default", user_id="alice")
        assert await sessions.purge_expired_sessions() == 1
        listed = await sessions.list_sessions(user_id="alice", app_name=NOTING)
    assert [s.session_id for s in listed.sessions] == [own.session_id], "a session not kept for one stays"


@pytest.mark.parametrize("workers", [1, 0])
async def test_the_second_turn_sends_the_model_the_first(start: StartServer, workers: int) -> None:
    server = await start(agent_workers=workers)
    await register_noting(server)
    first, session_id = await answer(server, "notes: remember the blue door")
    second, _ = await answer(server, "notes: which door", session_id)
    assert second == f"notes: remember the blue door / {first} / notes: which door", (
        "the model's request holds the first turn from the stored session, and no previous-turn prefix"
    )


async def test_the_previous_turn_is_sent_only_when_the_session_lacks_it(server: RegistryServer) -> None:
    await register_noting(server)
    _, session_id = await answer(server, "notes: remember the blue door")
    other = await ask(server, "show my tickets", session_id)
    assert not any(isinstance(e, AgentResult) and e.agent_name == NOTING for e in other)
    await answer(server, "notes: summarise that", session_id)
    await answer(server, "notes: and again", session_id)
    said = texts(await adk_session(server, NOTING, session_id), "user")
    assert said[0] == "notes: remember the blue door"
    assert said[1].startswith(f"{PREFIX} The user asked: show my tickets"), "another agent answered it"
    assert said[1].endswith("notes: summarise that")
    assert said[2] == "notes: and again", "the session already holds the turn before it"


async def test_the_session_survives_a_restart(start: StartServer, data_dir: Path) -> None:
    first_server = await start(agent_workers=1)
    await register_noting(first_server)
    first, session_id = await answer(first_server, "notes: remember the blue door")
    await first_server.stop(0)
    server = await start(agent_workers=1, data_dir=data_dir)
    second, _ = await answer(server, "notes: which door", session_id)
    assert second == f"notes: remember the blue door / {first} / notes: which door"
    stored = await adk_session(server, NOTING, session_id)
    assert texts(stored, "user") == ["notes: remember the blue door", "notes: which door"]
    assert stored.state["last_answer"] == second


async def overlap(server: RegistryServer, held_query: str, quick_query: str) -> tuple[AgentResult, str]:
    """Holds a turn of the gated agent, runs a whole second turn of the same session, then lets the first
    finish; returns the first turn's result and the session."""
    await register(server, "gated_agent", Factory(AGENTS, "create_gated_agent"), "gated")
    opening = await ask(server, "gated: hello")
    session_id = session_of(opening)
    gated.HOLD = hold = gated.Hold()
    try:
        held = asyncio.create_task(ask(server, held_query, session_id))
        await hold.waiting.wait()  # the held turn has stored its user event and is answering
        quick = result_of(await ask(server, quick_query, session_id), "gated_agent")
        assert quick.success, quick.error
        hold.release.set()
        return result_of(await held, "gated_agent"), session_id
    finally:
        gated.HOLD = None


async def test_overlapping_turns_both_land_in_the_session(start: StartServer) -> None:
    server = await start(agent_workers=0)  # in process, so the test can hold the agent mid-turn
    held, session_id = await overlap(server, "gated: wait for me", "gated: quick one")
    assert held.success, "the stale append was retried on the session as it now stands"
    assert held.response == "done: gated: wait for me"
    stored = await adk_session(server, "gated_agent", session_id)
    assert texts(stored, "user") == ["gated: hello", "gated: wait for me", "gated: quick one"]
    assert texts(stored, "gated") == [
        "done: gated: hello",
        "done: gated: quick one",
        "done: gated: wait for me",
    ]
    assert stored.state["quick_note"] == "gated: quick one"
    assert stored.state["held_note"] == "gated: wait for me"


async def test_overlapping_turns_setting_one_key_fail_the_later_visibly(start: StartServer) -> None:
    server = await start(agent_workers=0)
    held, session_id = await overlap(server, "gated: wait shared", "gated: shared quick")
    assert not held.success
    assert held.error == (
        "another turn of this session changed the state shared_note while this turn was answering; ask again"
    )
    stored = await adk_session(server, "gated_agent", session_id)
    assert stored.state["shared_note"] == "gated: shared quick", "the other turn's update is not lost"
    assert texts(stored, "gated") == ["done: gated: hello", "done: gated: shared quick"]


def worker_clients(server: RegistryServer, token: str | None = None) -> tuple[SessionClient, RegistryClient]:
    """Clients on the agent-session socket, with the workers' token unless another is given."""
    assert server.agent_sessions is not None
    access = server.agent_sessions.access
    secret = access.token if token is None else token
    return SessionClient(access.address, token=secret), RegistryClient(access.address, token=secret)


async def test_the_worker_token_opens_only_the_adk_session_methods(server: RegistryServer) -> None:
    sessions, registry = worker_clients(server)
    async with sessions, registry:
        created = await sessions.create_session("bob", app_name="some_agent", session_id="s1")
        await sessions.append_event(
            "s1", SessionEvent(author="user", state_delta={"k": 1}), app_name="some_agent", user_id="bob"
        )
        assert (await sessions.get_user_state("bob", app_name="some_agent")) == {}
        assert created.app_name == "some_agent"
        for refused in (
            sessions.export_session("s1", app_name="some_agent", user_id="bob"),
            sessions.purge_expired_sessions(),
            sessions.append_history("s1", HistoryRole.USER, "hi"),
        ):
            with pytest.raises(PermissionDenied, match="agent-workers may not call"):
                await refused
        with pytest.raises(AgentRegistryError) as raised:
            await registry.delete_agent("glossary_agent")
        assert raised.value.code is StatusCode.UNIMPLEMENTED, "the socket serves no RegistryService"
    async with RegistryClient(f"127.0.0.1:{server.port}") as public:
        assert (await public.get_agent("glossary_agent")).name == "glossary_agent", "nothing was deleted"


async def test_the_worker_token_never_reaches_the_routers_sessions(server: RegistryServer) -> None:
    async with SessionClient(f"127.0.0.1:{server.port}") as public:
        routed = await public.create_session("bob", session_id="routed", state={"k": "kept"})
    sessions, registry = worker_clients(server)
    async with sessions, registry:
        await sessions.create_session("bob", app_name="some_agent", session_id="routed")
        for app_name in ("", "default"):
            for refused in (
                sessions.get_session_page("routed", app_name=app_name, user_id="bob"),
                sessions.append_event(
                    "routed",
                    SessionEvent(author="x", state_delta={"k": "lost"}),
                    app_name=app_name,
                    user_id="bob",
                ),
                sessions.delete_session("routed", app_name=app_name, user_id="bob"),
                sessions.create_session("bob", app_name=app_name, session_id="another"),
                sessions.list_sessions(user_id="bob", app_name=app_name),
                sessions.get_user_state("bob", app_name=app_name),
            ):
                with pytest.raises(PermissionDenied, match="only an agent's own sessions"):
                    await refused
        listed = await sessions.list_sessions(user_id="bob", app_name="some_agent")
        assert [s.app_name for s in listed.sessions] == ["some_agent"]
    async with SessionClient(f"127.0.0.1:{server.port}") as public:
        kept = await public.get_session_page("routed", app_name="default", user_id="bob")
        assert kept.session.state == {"k": "kept"} and kept.session.create_time == routed.create_time


def test_the_worker_role_may_call_no_registry_or_router_method() -> None:
    methods = {
        "RegistryService": ("RegisterAgent", "DeleteAgent", "UpdateAgent", "ReloadAgent", "ListAgents"),
        "RouterService": ("Route", "RouteAndInvoke", "EvaluateRouting"),
        "SessionService": ("PurgeExpiredSessions", "ExportSession", "AppendHistory", "RecordInvocation"),
    }
    for service, names in methods.items():
        for name in names:
            method = f"/agentregistry.v1.{service}/{name}"
            rule = rule_for(method)
            assert rule is not None
            with pytest.raises(PermissionDeniedError):
                authorize(AGENT_WORKERS, method, rule)


async def test_the_agent_socket_wants_the_worker_token_even_with_auth_off(server: RegistryServer) -> None:
    for token in ("", "not-the-worker-token"):
        sessions, registry = worker_clients(server, token)
        async with sessions, registry:
            with pytest.raises(Unauthenticated):
                await sessions.get_user_state("bob", app_name="some_agent")


async def test_the_worker_token_is_refused_on_the_public_port(start: StartServer, tmp_path: Path) -> None:
    admin_token = "admin-secret-token-for-this-test"
    entry = {"name": "ops", "sha256": hashlib.sha256(admin_token.encode()).hexdigest(), "roles": ["admin"]}
    (tmp_path / "auth.yaml").write_text(yaml.safe_dump({"tokens": [entry]}))
    server = await start(auth_config_file=tmp_path / "auth.yaml")
    assert server.agent_sessions is not None
    worker_token = server.agent_sessions.access.token
    target = f"127.0.0.1:{server.port}"
    async with (
        SessionClient(target, token=worker_token) as sessions,
        RegistryClient(target, token=worker_token) as registry,
    ):
        with pytest.raises(Unauthenticated):
            await sessions.get_user_state("bob", app_name="some_agent")
        with pytest.raises(Unauthenticated):
            await registry.delete_agent("glossary_agent")
    admin_sessions, _ = worker_clients(server, admin_token)
    async with admin_sessions:
        with pytest.raises(Unauthenticated):
            await admin_sessions.get_user_state("bob", app_name="some_agent")


def test_no_auth_config_token_may_have_the_worker_role(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    entry = {"name": "sneaky", "sha256": "a" * 64, "roles": [Role.AGENT_WORKER.value]}
    path.write_text(yaml.safe_dump({"tokens": [entry]}))
    with pytest.raises(AuthConfigError, match="'roles' must list some of"):
        load_auth_config(path)


async def test_the_socket_is_private_and_removed_at_shutdown(start: StartServer) -> None:
    server = await start()
    assert server.agent_sessions is not None
    directory = server.agent_sessions.directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700, "other local users cannot reach the socket"
    assert [path.name for path in directory.iterdir()] == ["sessions.sock"]
    await server.stop(0)
    assert not directory.exists()


async def test_the_worker_token_never_reaches_a_log_argv_or_environment(
    start: StartServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await start(agent_workers=1)
    assert server.agent_sessions is not None and server.agent_host is not None
    access = server.agent_sessions.access
    await register_noting(server)
    await answer(server, "notes: remember the blue door")
    sessions, _ = worker_clients(server)
    async with sessions:
        with pytest.raises(PermissionDenied):
            await sessions.purge_expired_sessions()
    assert server.agent_host.pool is not None
    [worker] = server.agent_host.pool.worker_pids()
    for name in ("cmdline", "environ"):
        assert access.token.encode() not in Path(f"/proc/{worker}/{name}").read_bytes()
    assert access.token not in repr(access)
    assert "agent-workers" in caplog.text, "the refused call was logged, by the principal's name"
    assert access.token not in caplog.text
    assert access.token not in capfd.readouterr().err


def test_a_plain_worker_imports_neither_grpc_nor_the_client() -> None:
    probe = (
        "import sys, registry_server.agents.worker_main; "
        "print(sorted(m for m in ('grpc', 'agent_registry_client', 'google.adk') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", "workers load them only once an ADK agent is built"


class AlwaysStale(InMemorySessionService):
    """Sessions that another writer changes before every append; `deleted` makes them vanish instead."""

    def __init__(self, deleted: bool = False) -> None:
        super().__init__()
        self.deleted = deleted
        self.appends = 0

    async def append_event(self, session: AdkSession, event: Event) -> Event:
        self.appends += 1
        raise StaleSessionError("the session changed")

    async def get_session(
        self, *, app_name: str, user_id: str, session_id: str, config: GetSessionConfig | None = None
    ) -> AdkSession | None:
        if self.deleted:
            return None
        return await super().get_session(
            app_name=app_name, user_id=user_id, session_id=session_id, config=config
        )


@pytest.mark.parametrize(
    ("deleted", "error"),
    [
        (False, "other turns of this session kept changing it (5 retries); ask again"),
        (True, "the session was deleted while the agent was answering"),
    ],
)
async def test_a_turn_that_never_gets_its_append_in_fails_saying_why(deleted: bool, error: str) -> None:
    inner = AlwaysStale(deleted)
    service = StaleRetryingSessionService(inner)
    session = await service.create_session(app_name="app", user_id="bob", session_id="s")
    with pytest.raises(AgentFailedError) as raised:
        await service.append_event(session, Event(author="user", invocation_id="i"))
    assert str(raised.value) == error
    assert inner.appends == (1 if deleted else MAX_STALE_RETRIES + 1), "bounded, never endless"
