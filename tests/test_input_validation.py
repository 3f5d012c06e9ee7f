"""Input a parser or a pattern could let through: trailing newlines and control characters in names, tags
and ids; non-finite numbers in factory kwargs; forged page tokens; request bytes that are not a valid message.

Each is refused with INVALID_ARGUMENT, changes nothing, and, for bytes that never became a request, is logged.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from agentregistry.v1 import (
    agent_pb2,
    registry_service_pb2,
    registry_service_pb2_grpc,
    session_pb2,
    session_service_pb2,
    session_service_pb2_grpc,
)
from registry_server.domain.paging import filter_fingerprint
from registry_server.server import RegistryServer

ECHO = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
CONTROL_CHARACTERS = ["\n", "\r", "\x00", "\t", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]


class Stubs:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self.sessions = session_service_pb2_grpc.SessionServiceStub(channel)


@pytest.fixture
async def stubs(server: RegistryServer) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield Stubs(channel)


@pytest.fixture
async def registry_file(server: RegistryServer, stubs: Stubs) -> Path:
    """The registry file, once it holds an agent registered through the API."""
    await stubs.registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=agent("kept_agent")))
    return server.config.data_dir / "registry_config.json"


async def refusal(call: Awaitable[object]) -> tuple[str, dict[str, str]]:
    """The details and field violations of a call that must fail with INVALID_ARGUMENT."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    error = raised.value
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, f"{error.code()}: {error.details()}"
    violations: dict[str, str] = {}
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations |= {v.field: v.description for v in bad_request.field_violations}
    return error.details() or "", violations


def logged_refusals(caplog: pytest.LogCaptureFixture, method: str) -> int:
    """How many log lines report `method` ending with INVALID_ARGUMENT."""
    return sum(
        f"/{method}" in record.getMessage() and "INVALID_ARGUMENT" in record.getMessage()
        for record in caplog.records
    )


def agent(name: str = "ok_agent", **fields: object) -> agent_pb2.Agent:
    return agent_pb2.Agent(name=name, factory=fields.pop("factory", ECHO), **fields)  # type: ignore[arg-type]


def register(stubs: Stubs, message: agent_pb2.Agent) -> Awaitable[object]:
    return stubs.registry.RegisterAgent(registry_service_pb2.RegisterAgentRequest(agent=message))


# Finding: a pattern checked with re.match and `$` accepts a trailing newline; names must match whole.

AGENT_FIELDS: list[tuple[Callable[[str], agent_pb2.Agent], str, str]] = [
    (lambda c: agent(f"tickets_agent{c}"), "tickets_agent", "agent.name"),
    (lambda c: agent(tags=[f"prod{c}"]), "prod", "agent.tags[0]"),
    (
        lambda c: agent(factory=agent_pb2.AgentFactory(module=f"tests.fake_agents{c}", function="f")),
        "tests.fake_agents",
        "agent.factory.module",
    ),
    (
        lambda c: agent(factory=agent_pb2.AgentFactory(module="tests.fake_agents", function=f"f{c}")),
        "f",
        "agent.factory.function",
    ),
    (
        lambda c: agent(capabilities=agent_pb2.AgentCapabilities(domains=[f"bill{c}ing"])),
        "x",
        "agent.capabilities.domains[0]",
    ),
    (
        lambda c: agent(capabilities=agent_pb2.AgentCapabilities(keywords=[f"cve{c}"])),
        "x",
        "agent.capabilities.keywords[0]",
    ),
    (
        lambda c: agent(capabilities=agent_pb2.AgentCapabilities(examples=[f"show{c}tickets"])),
        "x",
        "agent.capabilities.examples[0]",
    ),
]


@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
@pytest.mark.parametrize(("build", "_valid", "field"), AGENT_FIELDS)
async def test_control_characters_in_agent_fields_are_refused_and_nothing_is_stored(
    stubs: Stubs,
    registry_file: Path,
    build: Callable[[str], agent_pb2.Agent],
    _valid: str,
    field: str,
    character: str,
) -> None:
    before = registry_file.read_bytes()
    _, violations = await refusal(register(stubs, build(character)))
    assert field in violations
    assert registry_file.read_bytes() == before
    listed = await stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest())
    assert "ok_agent" not in [a.name for a in listed.agents] and "tickets_agent\n" not in [
        a.name for a in listed.agents
    ]


async def test_a_kwargs_key_with_a_trailing_newline_is_refused(stubs: Stubs) -> None:
    factory = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
    factory.kwargs.update({"prefix\n": "x"})
    _, violations = await refusal(register(stubs, agent(factory=factory)))
    assert "agent.factory.kwargs" in violations


async def test_a_name_with_a_trailing_newline_is_not_another_agent(stubs: Stubs) -> None:
    """tickets_agent is a demo agent; `tickets_agent\\n` must not reach it nor look like a missing agent."""
    for call in (
        stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name="tickets_agent\n")),
        stubs.registry.DeleteAgent(registry_service_pb2.DeleteAgentRequest(name="tickets_agent\n")),
        stubs.registry.SearchAgents(
            registry_service_pb2.SearchAgentsRequest(query="tickets", last_agent="tickets_agent\n")
        ),
    ):
        await refusal(call)
    assert (
        await stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name="tickets_agent"))
    ).agent.name == "tickets_agent"


async def test_session_ids_and_invocation_agent_names_match_whole(stubs: Stubs) -> None:
    created = await stubs.sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
    session_id = created.session.session_id
    _, violations = await refusal(
        stubs.sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=f"{session_id}\n"))
    )
    assert "session_id" in violations
    _, violations = await refusal(
        stubs.sessions.RecordInvocation(
            session_service_pb2.RecordInvocationRequest(
                session_id=session_id,
                invocation=session_pb2.Invocation(agent_name="tickets_agent\n", query="q", success=True),
            )
        )
    )
    assert "invocation.agent_name" in violations
    _, violations = await refusal(
        stubs.sessions.AppendHistory(
            session_service_pb2.AppendHistoryRequest(
                session_id=session_id,
                role=session_pb2.ROLE_ASSISTANT,
                content="hi",
                agent_name="tickets_agent\n",
            )
        )
    )
    assert "agent_name" in violations
    stored = await stubs.sessions.GetSession(session_service_pb2.GetSessionRequest(session_id=session_id))
    assert stored.session.history_count == 0 and len(stored.session.invocations) == 0


@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
async def test_user_ids_with_control_characters_are_refused(stubs: Stubs, character: str) -> None:
    _, violations = await refusal(
        stubs.sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id=f"alice{character}"))
    )
    assert "user_id" in violations


# Finding: non-finite kwargs and forged page tokens reached code that raised, and gave INTERNAL.


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
async def test_non_finite_kwargs_are_refused_and_nothing_is_stored(
    stubs: Stubs, registry_file: Path, caplog: pytest.LogCaptureFixture, number: float
) -> None:
    caplog.set_level(logging.INFO)
    before = registry_file.read_bytes()
    factory = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
    factory.kwargs.update({"repeat": number, "nested": {"deep": [1, number]}})
    details, violations = await refusal(register(stubs, agent("nan_agent", factory=factory)))
    assert "finite" in violations["agent.factory.kwargs"], details
    update = registry_service_pb2.UpdateAgentRequest(agent=agent("kept_agent", factory=factory))
    update.update_mask.paths.append("factory")
    await refusal(stubs.registry.UpdateAgent(update))
    assert registry_file.read_bytes() == before
    assert logged_refusals(caplog, "RegisterAgent") == 1 and logged_refusals(caplog, "UpdateAgent") == 1


def forged_token(cursor: object, filters: dict[str, object]) -> str:
    payload = json.dumps({"c": cursor, "f": filter_fingerprint(filters)}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


HUGE_CURSORS: list[object] = [2**64, -(2**64), 10**300, [2**70, "x"], [[[[[[[[[[[[1]]]]]]]]]]]]]


@pytest.mark.parametrize("cursor", HUGE_CURSORS, ids=repr)
async def test_forged_page_tokens_with_huge_cursors_are_refused(
    stubs: Stubs, caplog: pytest.LogCaptureFixture, cursor: object
) -> None:
    caplog.set_level(logging.INFO)
    created = await stubs.sessions.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
    session_id = created.session.session_id
    token = forged_token(cursor, {"session": session_id, "list": "history"})
    _, violations = await refusal(
        stubs.sessions.GetSession(
            session_service_pb2.GetSessionRequest(session_id=session_id, history_page_token=token)
        )
    )
    assert "history_page_token" in violations
    assert logged_refusals(caplog, "GetSession") == 1


LIST_AGENTS_FILTERS = {"tag": "", "domain": "", "enabled": None, "state": 0}


@pytest.mark.parametrize(
    "payload",
    [
        # Deeper than the JSON parser's recursion limit, yet short enough to be decoded.
        '{"c":' + "[" * 1400 + "]" * 1400 + f',"f":"{filter_fingerprint(LIST_AGENTS_FILTERS)}"}}',
        '{"c":NaN,"f":"' + filter_fingerprint(LIST_AGENTS_FILTERS) + '"}',
        '{"c":' + "9" * 5000 + ',"f":"' + filter_fingerprint(LIST_AGENTS_FILTERS) + '"}',
    ],
    ids=["nested-1400", "nan", "5000-digits"],
)
async def test_forged_tokens_the_json_parser_chokes_on_are_refused(stubs: Stubs, payload: str) -> None:
    token = base64.urlsafe_b64encode(payload.encode()).decode()
    _, violations = await refusal(
        stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_token=token))
    )
    assert "page_token" in violations


async def test_genuine_tokens_still_page_through_every_agent(stubs: Stubs) -> None:
    for index in range(3):
        await register(stubs, agent(f"agent_{index}"))
    everything = await stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest())
    paged: list[str] = []
    token = ""
    while True:
        page = await stubs.registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(page_size=2, page_token=token)
        )
        paged += [a.name for a in page.agents]
        token = page.next_page_token
        if not token:
            break
    assert paged == [a.name for a in everything.agents] and len(paged) >= 3


# Finding: bytes that do not parse as the request failed in grpc's deserialization, before any servicer ran,
# and gave UNKNOWN with no log line.


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            return bytes(out + bytes([low]))
        out.append(low | 0x80)


def length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def deep_kwargs_request(depth: int) -> bytes:
    """A RegisterAgentRequest whose kwargs nest `depth` Structs, encoded by hand: a parser would refuse it."""
    kwargs = struct_pb2.Struct()
    level = kwargs.fields["prefix"].struct_value  # the echo agent takes any prefix
    for _ in range(depth - 1):
        level = level.fields["k"].struct_value
    factory = agent_pb2.AgentFactory(module="tests.fake_agents", function="create_echo_agent")
    factory_bytes = factory.SerializeToString() + length_delimited(
        agent_pb2.AgentFactory.DESCRIPTOR.fields_by_name["kwargs"].number, kwargs.SerializeToString()
    )
    agent_bytes = agent_pb2.Agent(name="deep_agent").SerializeToString() + length_delimited(
        agent_pb2.Agent.DESCRIPTOR.fields_by_name["factory"].number, factory_bytes
    )
    return length_delimited(1, agent_bytes)


REGISTER = "/agentregistry.v1.RegistryService/RegisterAgent"
CREATE_SESSION = "/agentregistry.v1.SessionService/CreateSession"
ROUTE_AND_INVOKE = "/agentregistry.v1.RouterService/RouteAndInvoke"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
UNDECODABLE = [
    # RegisterAgentRequest.agent.name = b"bad\xff\xfe": a string field that is not UTF-8.
    pytest.param(REGISTER, length_delimited(1, length_delimited(1, b"bad\xff\xfe")), id="invalid-utf8"),
    pytest.param(CREATE_SESSION, length_delimited(1, b"\xc3\x28"), id="invalid-utf8-user-id"),
    pytest.param(REGISTER, b"\xff\xff\xff\xff\xff", id="garbage"),
    pytest.param(REGISTER, length_delimited(1, b"\x0a\xff\xff\xff\xff\x0f"), id="truncated"),
    pytest.param(REGISTER, deep_kwargs_request(120), id="struct-nested-120-levels"),
    pytest.param(ROUTE_AND_INVOKE, b"\x0a\x05ab", id="garbage-to-a-response-stream"),
    pytest.param(REFLECTION, b"\xff\xff\xff", id="garbage-to-a-request-stream"),
]


async def raw_call(channel: grpc.aio.Channel, method: str, raw: bytes) -> None:
    """Sends `raw` as the request bytes (no serializer), and reads the whole answer."""
    if method == ROUTE_AND_INVOKE:
        async for _ in channel.unary_stream(method)(raw):
            pass
    elif method == REFLECTION:
        async for _ in channel.stream_stream(method)(iter([raw])):
            pass
    else:
        await channel.unary_unary(method)(raw)


@pytest.mark.parametrize(("method", "raw"), UNDECODABLE)
async def test_undecodable_requests_are_invalid_argument_and_logged(
    stubs: Stubs, registry_file: Path, caplog: pytest.LogCaptureFixture, method: str, raw: bytes
) -> None:
    caplog.set_level(logging.INFO)
    before = registry_file.read_bytes()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await raw_call(stubs.channel, method, raw)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    assert "is not a valid" in (raised.value.details() or "")
    assert "Traceback" not in caplog.text
    lines = [
        r.getMessage()
        for r in caplog.records
        if method in r.getMessage() and "INVALID_ARGUMENT" in r.getMessage()
    ]
    assert len(lines) == 1, "the refusal must leave exactly one log line"
    assert "\n" not in lines[0] and len(lines[0]) < 1000
    assert registry_file.read_bytes() == before
    stored = await stubs.registry.ListAgents(registry_service_pb2.ListAgentsRequest())
    assert "deep_agent" not in [a.name for a in stored.agents]


async def test_a_struct_within_the_depth_limit_is_accepted(stubs: Stubs) -> None:
    raw = deep_kwargs_request(20)
    await stubs.channel.unary_unary(REGISTER)(raw)
    got = await stubs.registry.GetAgent(registry_service_pb2.GetAgentRequest(name="deep_agent"))
    assert "k" in got.agent.factory.kwargs["prefix"]
