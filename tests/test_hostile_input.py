"""Hostile input: arbitrary values in every request field, arbitrary bytes in both data files.

The server answers with a documented code (never UNKNOWN or INTERNAL), stores what it accepts exactly, and
keeps a corrupt file aside instead of overwriting it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentregistry.v1 import (
    agent_pb2,
    registry_service_pb2,
    registry_service_pb2_grpc,
    router_service_pb2,
    router_service_pb2_grpc,
    session_pb2,
    session_service_pb2,
    session_service_pb2_grpc,
)
from registry_server.domain.paging import filter_fingerprint
from registry_server.registry.document import DocumentError, parse_document
from registry_server.registry.file_store import FileStore, LoadSource
from registry_server.server import RegistryServer
from registry_server.sessions.sqlite_store import SqliteSessionStore
from tests.conftest import DEFAULTS_FILE, StartServer

ACCEPTABLE = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(max_size=80) | st.text(max_size=3000)
names = st.from_regex(r"[a-z][a-z0-9_]{1,20}", fullmatch=True) | text
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
timestamps = st.builds(lambda s, n: (s, n), int64, st.integers(-(2**31), 2**31 - 1))


class Stubs:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self.sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        self.router = router_service_pb2_grpc.RouterServiceStub(channel)


@pytest.fixture
async def stubs(server: RegistryServer) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield Stubs(channel)


async def outcome(call: object) -> tuple[grpc.StatusCode, object]:
    """The status code of a unary call (or of a whole stream) and its response."""
    try:
        if hasattr(call, "__aiter__"):
            return grpc.StatusCode.OK, [message async for message in call]  # type: ignore[attr-defined]
        return grpc.StatusCode.OK, await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        assert error.code() in ACCEPTABLE, f"{error.code()}: {error.details()}"
        assert "Traceback" not in (error.details() or "")
        return error.code(), None


@FUZZ
@given(
    name=names,
    description=text,
    module=names,
    function=names,
    tags=st.lists(text, max_size=5),
    domains=st.lists(text, max_size=5),
    priority=int32,
    valid_factory=st.booleans(),
)
async def test_register_agent_fields(
    stubs: Stubs,
    name: str,
    description: str,
    module: str,
    function: str,
    tags: list[str],
    domains: list[str],
    priority: int,
    valid_factory: bool,
) -> None:
    factory = (
        agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
        if valid_factory
        else (agent_pb2.AgentFactory(module=module, function=function))
    )
    agent = agent_pb2.Agent(
        name=name,
        description=description,
        factory=factory,
        tags=tags,
        capabilities=agent_pb2.AgentCapabilities(domains=domains, priority=priority),
    )
    code, _ = await outcome(
        stubs.registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))
    )
    if code is grpc.StatusCode.OK:
        stored = (await stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name=name))).agent
        assert stored.description == description and stored.capabilities.priority == priority
        assert list(stored.tags) == list(dict.fromkeys(tags))
        assert list(stored.capabilities.domains) == list(dict.fromkeys(" ".join(d.split()) for d in domains))


@FUZZ
@given(
    page_size=int32,
    page_token=text,
    tag=text,
    domain=text,
    state=int32,
    name=text,
    etag=text,
    paths=st.lists(text, max_size=4),
    query=text,
    fmt=int32,
)
async def test_registry_reads_and_updates(
    stubs: Stubs,
    page_size: int,
    page_token: str,
    tag: str,
    domain: str,
    state: int,
    name: str,
    etag: str,
    paths: list[str],
    query: str,
    fmt: int,
) -> None:
    registry = stubs.registry
    await outcome(
        registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(
                page_size=page_size, page_token=page_token, tag=tag, domain=domain, state=state
            )
        )
    )
    await outcome(registry.GetAgent(registry_service_pb2.GetAgentRequest(name=name)))
    update = registry_service_pb2.UpdateAgentRequest(
        agent=agent_pb2.Agent(name=name, etag=etag, description=query)
    )
    update.update_mask.paths.extend(paths)
    await outcome(registry.UpdateAgent(update))
    await outcome(registry.SetAgentEnabled(registry_service_pb2.SetAgentEnabledRequest(name=name, etag=etag)))
    await outcome(
        registry.SearchAgents(registry_service_pb2.SearchAgentsRequest(query=query, last_agent=name))
    )
    await outcome(registry.ExportRegistry(registry_service_pb2.ExportRegistryRequest(format=fmt)))


@FUZZ
@given(
    user_id=text,
    metadata=st.dictionaries(text, text, max_size=4),
    role=int32,
    content=text,
    agent_name=text,
    query=text,
    response=text,
    duration=int64,
    error=text,
    success=st.booleans(),
)
async def test_session_writes_store_exactly_what_they_accept(
    stubs: Stubs,
    user_id: str,
    metadata: dict[str, str],
    role: int,
    content: str,
    agent_name: str,
    query: str,
    response: str,
    duration: int,
    error: str,
    success: bool,
) -> None:
    sessions = stubs.sessions
    code, created = await outcome(
        sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id=user_id, metadata=metadata))
    )
    session_id = created.session.session_id if code is grpc.StatusCode.OK else "fuzzsession"  # type: ignore[union-attr]
    if code is grpc.StatusCode.OK:
        stored = (
            await sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=session_id))
        ).session
        assert stored.user_id == user_id and dict(stored.metadata) == metadata
    code, appended = await outcome(
        sessions.AppendHistory(
            session_service_pb2.AppendHistoryRequest(
                session_id=session_id, role=role, content=content, agent_name=agent_name
            )
        )
    )
    invocation = session_pb2.Invocation(
        agent_name=agent_name,
        query=query,
        response=response,
        success=success,
        duration_ms=duration,
        error=error,
    )
    recorded_code, _ = await outcome(
        sessions.RecordInvocation(
            session_service_pb2.RecordInvocationRequest(session_id=session_id, invocation=invocation)
        )
    )
    if code is grpc.StatusCode.OK or recorded_code is grpc.StatusCode.OK:
        stored = (
            await sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=session_id))
        ).session
        if code is grpc.StatusCode.OK:
            assert stored.history[appended.entry.seq - 1].content == content  # type: ignore[union-attr]
        if recorded_code is grpc.StatusCode.OK:
            got = stored.invocations[-1]
            assert (got.query, got.response, got.error, got.duration_ms) == (query, response, error, duration)


@FUZZ
@given(
    page_size=int32,
    page_token=text,
    user_id=text,
    status=int32,
    start=timestamps,
    end=timestamps,
    session_id=text,
    history_size=int32,
    history_token=text,
)
async def test_session_reads(
    stubs: Stubs,
    page_size: int,
    page_token: str,
    user_id: str,
    status: int,
    start: tuple[int, int],
    end: tuple[int, int],
    session_id: str,
    history_size: int,
    history_token: str,
) -> None:
    sessions = stubs.sessions
    request = session_service_pb2.ListSessionsRequest(
        page_size=page_size, page_token=page_token, user_id=user_id, status=status
    )
    request.create_time_start.seconds, request.create_time_start.nanos = start
    request.update_time_end.seconds, request.update_time_end.nanos = end
    await outcome(sessions.ListSessions(request))
    await outcome(
        sessions.GetSession(
            session_service_pb2.GetSessionRequest(
                session_id=session_id, history_page_size=history_size, history_page_token=history_token
            )
        )
    )
    stats = session_service_pb2.GetSessionStatsRequest(user_id=user_id)
    stats.start_time.seconds, stats.start_time.nanos = start
    await outcome(sessions.GetSessionStats(stats))
    await outcome(
        sessions.UpdateSessionStatus(
            session_service_pb2.UpdateSessionStatusRequest(session_id=session_id, status=status)
        )
    )
    await outcome(sessions.ExportSession(session_service_pb2.ExportSessionRequest(session_id=session_id)))


@FUZZ
@given(query=text, session_id=text, user_id=text)
async def test_routing_fields(stubs: Stubs, query: str, session_id: str, user_id: str) -> None:
    router = stubs.router
    await outcome(
        router.Route(router_service_pb2.RouteRequest(query=query, session_id=session_id, user_id=user_id))
    )
    code, events = await outcome(
        router.RouteAndInvoke(
            router_service_pb2.RouteAndInvokeRequest(
                query=query, session_id=session_id, user_id=user_id or "fuzzer"
            )
        )
    )
    if code is grpc.StatusCode.OK:
        assert events[-1].WhichOneof("event") == "completed"  # type: ignore[index]


async def test_oversized_messages_are_refused(start: StartServer) -> None:
    server = await start(max_message_bytes=64 * 1024)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        sessions = session_service_pb2_grpc.SessionServiceStub(channel)
        created = await sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await sessions.AppendHistory(
                session_service_pb2.AppendHistoryRequest(
                    session_id=created.session.session_id, role=session_pb2.ROLE_USER, content="x" * 100_000
                )
            )
        assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        stored = await sessions.GetSession(
            session_service_pb2.GetSessionRequest(session_id=created.session.session_id)
        )
        assert stored.session.history_count == 0


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=4000))
def test_arbitrary_registry_file_bytes_load_or_are_kept_aside(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    data_dir = tmp_path_factory.mktemp("registry")
    (data_dir / "registry_config.json").write_bytes(content)
    loaded = FileStore(data_dir, DEFAULTS_FILE).load()
    if loaded.source is LoadSource.PRIMARY:
        assert (data_dir / "registry_config.json").read_bytes() == content
    else:
        assert loaded.source is LoadSource.DEFAULTS and [p.read_bytes() for p in loaded.set_aside] == [
            content
        ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    document=json_values
    | st.fixed_dictionaries({"agents": st.dictionaries(st.text(max_size=12), json_values, max_size=3)})
)
def test_arbitrary_documents_parse_or_raise_document_error(document: object) -> None:
    with contextlib.suppress(DocumentError):
        parse_document(json.loads(json.dumps(document)))


@settings(max_examples=25, deadline=None)
@given(content=st.binary(min_size=1, max_size=8192))
def test_arbitrary_database_bytes_are_kept_aside_never_overwritten(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    data_dir = tmp_path_factory.mktemp("sessions")
    path = data_dir / "sessions.db"
    path.write_bytes(content)

    async def open_and_use() -> None:
        store = await SqliteSessionStore(path).open()
        try:
            await store.create_session("alice", {})
        finally:
            await store.close()

    asyncio.run(open_and_use())
    kept = sorted(
        p for p in data_dir.iterdir() if p.name.startswith("sessions.db.corrupt-") and "-" not in p.name[-4:]
    )
    assert [p.read_bytes() for p in kept] == [content]


async def test_garbage_database_is_reported_and_the_server_serves(
    start: StartServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (data_dir / "sessions.db").write_bytes(b"this is not a database, but it might be someone's data" * 100)
    server = await start()
    assert (
        "is not a readable SQLite database" in caplog.text
        and "kept it as sessions.db.corrupt-" in caplog.text
    )
    [kept] = [p for p in data_dir.iterdir() if p.name.startswith("sessions.db.corrupt-")]
    assert kept.read_bytes().startswith(b"this is not a database")
    assert (await server.sessions.create_session("alice", {})).user_id == "alice"


@FUZZ
@given(batch_names=st.lists(names, max_size=4), name=text, etag=text, session_id=text)
async def test_batch_delete_and_reload_fields(
    stubs: Stubs, batch_names: list[str], name: str, etag: str, session_id: str
) -> None:
    factory = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
    batch = [agent_pb2.Agent(name=agent_name, factory=factory) for agent_name in batch_names]
    code, _ = await outcome(
        stubs.registry.BatchRegisterAgents(registry_service_pb2.BatchRegisterAgentsRequest(agents=batch))
    )
    if code is grpc.StatusCode.OK:
        for agent_name in batch_names:
            await stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent_name))
    await outcome(stubs.registry.ReloadAgent(registry_service_pb2.ReloadAgentRequest(name=name)))
    await outcome(stubs.registry.DeleteAgent(registry_service_pb2.DeleteAgentRequest(name=name, etag=etag)))
    await outcome(
        stubs.sessions.DeleteSession(session_service_pb2.DeleteSessionRequest(session_id=session_id))
    )
    await outcome(stubs.sessions.PurgeExpiredSessions(session_service_pb2.PurgeExpiredSessionsRequest()))


controls = st.sampled_from(["\n", "\r", "\x00", "\x85", "\u2028", "\u2029"]) | st.characters(
    categories=["Cc"]
)
# -1 puts the character at the end, where a `$` pattern lets a newline through.
positions = st.just(-1) | st.integers(0, 64)
valid_names = st.from_regex(r"[a-z][a-z0-9_]{1,20}", fullmatch=True)


def with_control(name: str, control: str, position: int) -> str:
    """`name` with `control` inserted at `position` (-1: at the end; else modulo its length + 1)."""
    at = len(name) if position < 0 else position % (len(name) + 1)
    return name[:at] + control + name[at:]


@FUZZ
@given(
    name=valid_names,
    control=controls,
    position=positions,
    field=st.sampled_from(["name", "tag", "module", "function", "domain", "example"]),
)
async def test_any_control_character_in_an_agent_field_is_refused_and_nothing_stored(
    stubs: Stubs, name: str, control: str, position: int, field: str
) -> None:
    hostile = with_control(name, control, position)
    factory = agent_pb2.AgentFactory(
        module=hostile if field == "module" else "tests.fake_agents",
        function=hostile if field == "function" else "create_echo_agent",
    )
    agent = agent_pb2.Agent(
        name=hostile if field == "name" else name,
        factory=factory,
        tags=[hostile] if field == "tag" else [],
        capabilities=agent_pb2.AgentCapabilities(
            domains=[hostile] if field == "domain" else [], examples=[hostile] if field == "example" else []
        ),
    )
    before = await stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest())
    code, _ = await outcome(
        stubs.registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert await stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest()) == before


@FUZZ
@given(name=valid_names, control=controls, position=positions)
async def test_any_control_character_in_an_id_is_refused_and_nothing_stored(
    stubs: Stubs, name: str, control: str, position: int
) -> None:
    hostile = with_control(name, control, position)
    sessions = stubs.sessions
    code, _ = await outcome(sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id=hostile)))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    created = await sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
    session_id = created.session.session_id
    for call in (
        sessions.GetSession(
            session_service_pb2.GetSessionRequest(session_id=with_control(session_id, control, position))
        ),
        sessions.RecordInvocation(
            session_service_pb2.RecordInvocationRequest(
                session_id=session_id,
                invocation=session_pb2.Invocation(agent_name=hostile, query="q", success=True),
            )
        ),
        stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name=hostile)),
    ):
        code, _ = await outcome(call)
        assert code is grpc.StatusCode.INVALID_ARGUMENT
    stored = await sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=session_id))
    assert len(stored.session.invocations) == 0


cursors = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63)
    | st.integers(max_value=-(2**63) - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def forged_token(cursor: object, filters: dict[str, object]) -> str:
    payload = json.dumps({"c": cursor, "f": filter_fingerprint(filters)}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@FUZZ
@given(cursor=st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1) | cursors)
async def test_forged_page_tokens_with_any_cursor_get_a_documented_code(stubs: Stubs, cursor: object) -> None:
    agents_token = forged_token(cursor, {"tag": "", "domain": "", "enabled": None, "state": 0})
    await outcome(stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_token=agents_token)))
    created = await stubs.sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
    session_id = created.session.session_id
    for kind in ("history", "invocation"):
        token = forged_token(cursor, {"session": session_id, "list": kind})
        await outcome(
            stubs.sessions.GetSession(
                session_service_pb2.GetSessionRequest(session_id=session_id, **{f"{kind}_page_token": token})
            )
        )
    await stubs.sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
    listed = await stubs.sessions.ListSessions(session_service_pb2.ListSessionsRequest(page_size=1))
    genuine = json.loads(
        base64.urlsafe_b64decode(listed.next_page_token + "=" * (-len(listed.next_page_token) % 4))
    )
    forged = json.dumps({"c": cursor, "f": genuine["f"]}).encode()
    token = base64.urlsafe_b64encode(forged).decode()
    await outcome(stubs.sessions.ListSessions(session_service_pb2.ListSessionsRequest(page_token=token)))


SERVICE_METHODS = [
    (f"/{service.full_name}/{method.name}", method.server_streaming)
    for module in (registry_service_pb2, session_service_pb2, router_service_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
    if not method.client_streaming
]


@FUZZ
@given(method=st.sampled_from(SERVICE_METHODS), raw=st.binary(max_size=200))
async def test_arbitrary_request_bytes_get_a_documented_code(
    stubs: Stubs, method: tuple[str, bool], raw: bytes
) -> None:
    path, streaming = method
    channel = stubs.channel
    if path.endswith("/WatchAgents"):
        await watch_outcome(channel.unary_stream(path)(raw, timeout=WATCH_READ_S))
        return
    call = channel.unary_stream(path)(raw) if streaming else channel.unary_unary(path)(raw)
    if path.endswith("/WatchAgents"):
        # A watch streams until its caller leaves: still open after a while is a valid request's outcome.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await outcome(call)
        call.cancel()
        return
    await outcome(call)


# A valid WatchAgents request streams until the caller cancels it: the read stops at this deadline.
WATCH_READ_S = 0.5


async def watch_outcome(call: grpc.aio.UnaryStreamCall[Any, Any]) -> None:
    """A watch is refused with a documented code, or stays open until its deadline ends it."""
    try:
        async for _ in call:
            pass
    except grpc.aio.AioRpcError as error:
        assert error.code() in ACCEPTABLE | {grpc.StatusCode.DEADLINE_EXCEEDED}, error.details()
        assert "Traceback" not in (error.details() or "")


@FUZZ
@given(
    kwargs=st.dictionaries(
        st.sampled_from(["prefix", "repeat"]),
        st.floats() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | st.lists(st.floats(), max_size=3),
        max_size=2,
    )
)
@example(kwargs={"repeat": math.nan})
@example(kwargs={"prefix": [1.0, -math.inf]})
async def test_factory_kwargs_numbers_are_stored_exactly_or_refused(
    stubs: Stubs, kwargs: dict[str, object]
) -> None:
    factory = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
    factory.kwargs.update(kwargs)
    agent = agent_pb2.Agent(name="kwargs_agent", factory=factory)
    await outcome(stubs.registry.DeleteAgent(registry_service_pb2.DeleteAgentRequest(name="kwargs_agent")))
    code, _ = await outcome(
        stubs.registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent))
    )
    if code is grpc.StatusCode.OK:
        stored = (
            await stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name="kwargs_agent"))
        ).agent
        assert json_format.MessageToDict(stored.factory.kwargs) == json_format.MessageToDict(factory.kwargs)
