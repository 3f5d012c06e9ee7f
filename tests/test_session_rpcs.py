"""SessionService end to end: every RPC's success and error paths through a real server and the client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import grpc
import pytest

from agent_registry_client import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    Invocation,
    NotFound,
    Role,
    SessionClient,
    SessionStatus,
)
from agent_registry_client.session_models import SessionEvent
from agentregistry.v1 import session_pb2, session_service_pb2
from registry_server.server import RegistryServer
from tests.conftest import StartServer
from tests.test_session_store_conformance import TRICKY_TEXTS

Call = Callable[[SessionClient], Awaitable[object]]


async def test_a_conversation_is_recorded(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice", {"channel": "web"})
    assert session.status is SessionStatus.ACTIVE and session.metadata == {"channel": "web"}
    user = await sessions.append_history(session.session_id, Role.USER, "show my tickets")
    invocation = await sessions.record_invocation(
        session.session_id, Invocation("tickets_agent", "show my tickets", "You have 3 tickets", True, 245)
    )
    answer = await sessions.append_history(
        session.session_id, Role.ASSISTANT, "You have 3 tickets", agent_name="tickets_agent"
    )
    assert (user.seq, answer.seq, invocation.seq) == (1, 2, 1)
    stored = await sessions.get_session(session.session_id)
    assert [(e.seq, e.role, e.content, e.agent_name) for e in stored.history] == [
        (1, Role.USER, "show my tickets", ""),
        (2, Role.ASSISTANT, "You have 3 tickets", "tickets_agent"),
    ]
    assert stored.invocations == [invocation]
    assert (stored.last_agent_called, stored.last_query, stored.last_response) == (
        "tickets_agent",
        "show my tickets",
        "You have 3 tickets",
    )
    assert (stored.history_count, stored.invocation_count) == (2, 1)
    assert stored.update_time is not None and session.update_time is not None
    assert stored.update_time > session.update_time


async def test_long_history_reads_back_complete_in_pages(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    for index in range(1000):
        await sessions.append_history(
            session.session_id, Role.USER if index % 2 else Role.ASSISTANT, f"m{index}"
        )
    whole = await sessions.get_session(session.session_id)
    assert [e.seq for e in whole.history] == list(range(1, 1001))
    assert [e.content for e in whole.history] == [f"m{i}" for i in range(1000)]

    page = await sessions.get_session_page(session.session_id, history_page_size=300)
    seqs = [e.seq for e in page.session.history]
    while page.next_history_page_token:
        page = await sessions.get_session_page(
            session.session_id, history_page_size=300, history_page_token=page.next_history_page_token
        )
        seqs += [e.seq for e in page.session.history]
    assert seqs == list(range(1, 1001))


async def test_invocations_page(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    for index in range(7):
        await sessions.record_invocation(session.session_id, Invocation("tickets_agent", f"q{index}"))
    first = await sessions.get_session_page(session.session_id, invocation_page_size=4)
    assert [i.seq for i in first.session.invocations] == [1, 2, 3, 4]
    rest = await sessions.get_session_page(
        session.session_id, invocation_page_size=4, invocation_page_token=first.next_invocation_page_token
    )
    assert [i.query for i in rest.session.invocations] == ["q4", "q5", "q6"]
    assert rest.next_invocation_page_token == ""
    assert len((await sessions.get_session(session.session_id)).invocations) == 7


@pytest.mark.parametrize("text", TRICKY_TEXTS)
async def test_text_round_trips_byte_for_byte(sessions: SessionClient, text: str) -> None:
    session = await sessions.create_session("alice", {"note": text})
    await sessions.append_history(session.session_id, Role.USER, text)
    await sessions.record_invocation(
        session.session_id, Invocation("tickets_agent", text, text, True, 0, text)
    )
    stored = await sessions.get_session(session.session_id)
    assert stored.history[0].content.encode() == text.encode()
    assert stored.metadata == {"note": text}
    assert (stored.invocations[0].query, stored.invocations[0].error, stored.last_response) == (
        text,
        text,
        text,
    )


async def test_status_changes_close_the_session(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    closed = await sessions.update_session_status(session.session_id, SessionStatus.COMPLETED)
    assert closed.status is SessionStatus.COMPLETED
    assert (await sessions.update_session_status(session.session_id, SessionStatus.COMPLETED)).status is (
        SessionStatus.COMPLETED
    )
    with pytest.raises(FailedPrecondition, match="COMPLETED"):
        await sessions.update_session_status(session.session_id, SessionStatus.ACTIVE)
    with pytest.raises(FailedPrecondition, match="only ACTIVE sessions accept writes"):
        await sessions.append_history(session.session_id, Role.USER, "late")
    with pytest.raises(FailedPrecondition):
        await sessions.record_invocation(session.session_id, Invocation("tickets_agent", "late"))
    abandoned = await sessions.create_session("alice")
    assert (await sessions.update_session_status(abandoned.session_id, SessionStatus.ABANDONED)).status is (
        SessionStatus.ABANDONED
    )


async def test_delete_and_export(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice", {"k": "v"})
    await sessions.append_history(session.session_id, Role.USER, "show my tickets")
    await sessions.record_invocation(
        session.session_id, Invocation("tickets_agent", "show my tickets", "3", True, 9)
    )
    exported = await sessions.export_session(session.session_id)
    assert exported["session"]["session_id"] == session.session_id
    assert exported["session"]["status"] == "ACTIVE" and exported["session"]["metadata"] == {"k": "v"}
    assert [e["content"] for e in exported["history"]] == ["show my tickets"]
    assert exported["history"][0]["role"] == "USER"
    assert exported["invocations"][0]["agent_name"] == "tickets_agent"
    assert exported["invocations"][0]["duration_ms"] == 9
    await sessions.delete_session(session.session_id)
    with pytest.raises(NotFound):
        await sessions.get_session(session.session_id)
    with pytest.raises(NotFound):
        await sessions.delete_session(session.session_id)


async def test_stats_per_agent(sessions: SessionClient) -> None:
    alice = await sessions.create_session("alice")
    bob = await sessions.create_session("bob")
    for duration in (100, 200, 300, 400):
        await sessions.record_invocation(
            alice.session_id, Invocation("tickets_agent", "q", "r", True, duration)
        )
    await sessions.record_invocation(alice.session_id, Invocation("oxygen_agent", "q", "", False, 50, "boom"))
    await sessions.record_invocation(bob.session_id, Invocation("finops_agent", "q", "r", True, 10))
    everyone = {s.agent_name: s for s in await sessions.get_session_stats()}
    assert set(everyone) == {"tickets_agent", "oxygen_agent", "finops_agent"}
    tickets = everyone["tickets_agent"]
    assert (tickets.invocations, tickets.successes, tickets.failures, tickets.success_rate) == (4, 4, 0, 1.0)
    assert (tickets.p50_duration_ms, tickets.p95_duration_ms) == (200.0, 400.0)
    assert everyone["oxygen_agent"].success_rate == 0.0
    assert [s.agent_name for s in await sessions.get_session_stats(user_id="bob")] == ["finops_agent"]
    last = (await sessions.get_session(bob.session_id)).update_time
    assert last is not None
    assert [s.agent_name for s in await sessions.get_session_stats(start=last)] == ["finops_agent"]
    assert await sessions.get_session_stats(start=last + timedelta(microseconds=1)) == []
    assert len(await sessions.get_session_stats(end=last)) == 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.create_session(""), "user_id"),
        (lambda s: s.create_session("u" * 129), "user_id"),
        (lambda s: s.create_session("bad\nuser"), "user_id"),
        (lambda s: s.create_session("alice", {"": "x"}), "metadata['']"),
        (lambda s: s.create_session("alice", {f"k{i}": "v" for i in range(65)}), "metadata"),
        (lambda s: s.append_history("not a valid id!", Role.USER, "x"), "session_id"),
        (lambda s: s.get_session_page("x" * 65), "session_id"),
        (lambda s: s.list_sessions(user_id="u" * 200), "user_id"),
        (lambda s: s.list_sessions(page_size=-1), "page_size"),
        (lambda s: s.list_sessions(page_token="garbage"), "page_token"),
        (lambda s: s.get_session_page("abc", history_page_size=-5), "history_page_size"),
        (lambda s: s.get_session_page("abc", invocation_page_token="zzz"), "invocation_page_token"),
        (lambda s: s.update_session_status("abc", SessionStatus.UNSPECIFIED), "status"),
    ],
)
async def test_bad_requests_name_the_field(sessions: SessionClient, call: Call, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await call(sessions)
    assert field in {v.field for v in raised.value.field_violations}


@pytest.mark.parametrize(
    ("role", "content", "agent_name", "field"),
    [
        (Role.UNSPECIFIED, "x", "", "role"),
        (Role.USER, "", "", "content"),
        (Role.USER, "x" * (256 * 1024 + 1), "", "content"),
        (Role.USER, "é" * (128 * 1024 + 1), "", "content"),
        (Role.ASSISTANT, "x", "Not-An-Agent", "agent_name"),
    ],
)
async def test_bad_history_entries_store_nothing(
    sessions: SessionClient, role: Role, content: str, agent_name: str, field: str
) -> None:
    session = await sessions.create_session("alice")
    with pytest.raises(InvalidArgument) as raised:
        await sessions.append_history(session.session_id, role, content, agent_name=agent_name)
    assert field in {v.field for v in raised.value.field_violations}
    assert (await sessions.get_session(session.session_id)).history_count == 0


@pytest.mark.parametrize(
    ("invocation", "field"),
    [
        (Invocation("", "q"), "invocation.agent_name"),
        (Invocation("Bad Agent", "q"), "invocation.agent_name"),
        (Invocation("tickets_agent", ""), "invocation.query"),
        (Invocation("tickets_agent", "q", duration_ms=-1), "invocation.duration_ms"),
        (Invocation("tickets_agent", "q", response="r" * (256 * 1024 + 1)), "invocation.response"),
    ],
)
async def test_bad_invocations_store_nothing(
    sessions: SessionClient, invocation: Invocation, field: str
) -> None:
    session = await sessions.create_session("alice")
    with pytest.raises(InvalidArgument) as raised:
        await sessions.record_invocation(session.session_id, invocation)
    assert field in {v.field for v in raised.value.field_violations}
    stored = await sessions.get_session(session.session_id)
    assert stored.invocation_count == 0 and stored.last_agent_called == ""


async def test_content_limit_is_configurable(start: StartServer) -> None:
    server = await start(max_content_bytes=10)
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        session = await sessions.create_session("alice")
        await sessions.append_history(session.session_id, Role.USER, "x" * 10)
        with pytest.raises(InvalidArgument, match="at most 10"):
            await sessions.append_history(session.session_id, Role.USER, "x" * 11)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_session("missing"),
        lambda s: s.append_history("missing", Role.USER, "x"),
        lambda s: s.record_invocation("missing", Invocation("tickets_agent", "q")),
        lambda s: s.update_session_status("missing", SessionStatus.COMPLETED),
        lambda s: s.delete_session("missing"),
        lambda s: s.export_session("missing"),
    ],
)
async def test_unknown_session_is_not_found(sessions: SessionClient, call: Call) -> None:
    with pytest.raises(NotFound, match="missing"):
        await call(sessions)


async def test_time_range_must_not_end_before_it_starts(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    assert session.create_time is not None
    with pytest.raises(InvalidArgument) as raised:
        await sessions.list_sessions(
            created_after=session.create_time, created_before=session.create_time.replace(year=2000)
        )
    assert "create_time_end" in {v.field for v in raised.value.field_violations}
    with pytest.raises(InvalidArgument):
        await sessions.get_session_stats(
            start=session.create_time, end=session.create_time.replace(year=2000)
        )


async def test_wire_names_for_grpcurl_users(server: RegistryServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        from agentregistry.v1 import session_service_pb2_grpc

        stub = session_service_pb2_grpc.SessionServiceStub(channel)
        created = await stub.CreateSession(session_service_pb2.CreateSessionRequest(user_id="alice"))
        entry = await stub.AppendHistory(
            session_service_pb2.AppendHistoryRequest(
                session_id=created.session.session_id, role=session_pb2.ROLE_USER, content="hi"
            )
        )
        assert entry.entry.seq == 1 and entry.entry.role == session_pb2.ROLE_USER


async def test_large_entries_page_by_bytes_within_the_message_limit(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    for index in range(17):  # 17 entries of 256 KiB: more than one 4 MiB response could carry
        await sessions.append_history(session.session_id, Role.USER, f"{index:02d}" + "x" * (256 * 1024 - 2))
    first = await sessions.get_session_page(session.session_id)
    assert 0 < len(first.session.history) < 17 and first.next_history_page_token
    stored = await sessions.get_session(session.session_id)
    assert [entry.content[:2] for entry in stored.history] == [f"{index:02d}" for index in range(17)]


async def test_export_of_large_entries_comes_in_pages_and_reassembles(sessions: SessionClient) -> None:
    session = await sessions.create_session("alice")
    for index in range(17):
        await sessions.append_history(session.session_id, Role.USER, f"{index:02d}" + "x" * (256 * 1024 - 2))
    first = await sessions.stub.ExportSession(
        session_service_pb2.ExportSessionRequest(session_id=session.session_id)
    )
    assert first.ByteSize() < 4 * 1024 * 1024 and first.next_page_token
    exported = await sessions.export_session(session.session_id)
    assert [entry["content"][:2] for entry in exported["history"]] == [f"{index:02d}" for index in range(17)]
    assert exported["session"]["session_id"] == session.session_id and exported["events"] == []


def _append_raw(sessions: SessionClient, **fields: object) -> Awaitable[object]:
    """AppendEvent through the raw stub, so the request can carry what the typed client would not send."""
    request = session_service_pb2.AppendEventRequest(session_id="s", app_name="a", user_id="alice")
    event = session_pb2.Event(author="agent", timestamp=1.0)
    for name, value in fields.items():
        if name.startswith("event."):
            target = event.actions if name.startswith("event.actions.") else event
            setattr(target, name.rsplit(".", 1)[1], value)
        else:
            setattr(request, name, value)
    request.event.CopyFrom(event)
    return sessions._call(sessions.stub.AppendEvent, request)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.create_session("alice", app_name="bad app!"), "app_name"),
        (lambda s: s.create_session("alice", app_name="a" * 129), "app_name"),
        (lambda s: s.create_session("alice", session_id="has space"), "session_id"),
        (lambda s: s.create_session("alice", request_id="not valid!"), "request_id"),
        (
            lambda s: s._call(
                s.stub.CreateSession,
                session_service_pb2.CreateSessionRequest(user_id="alice", state_json="[1, 2]"),
            ),
            "state_json",
        ),
        (
            lambda s: s._call(
                s.stub.CreateSession,
                session_service_pb2.CreateSessionRequest(user_id="alice", state_json='{"x": NaN}'),
            ),
            "state_json",
        ),
        (lambda s: _append_raw(s, **{"event.content_json": "{not json"}), "event.content_json"),
        (lambda s: _append_raw(s, **{"event.content_json": "[" * 5000 + "]" * 5000}), "event.content_json"),
        (
            lambda s: _append_raw(s, **{"event.actions.state_delta_json": '"text"'}),
            "event.actions.state_delta_json",
        ),
        (lambda s: _append_raw(s, **{"event.extra_json": "7"}), "event.extra_json"),
        (lambda s: _append_raw(s, **{"event.timestamp": float("nan")}), "event.timestamp"),
        (lambda s: _append_raw(s, **{"event.author": "bad\nauthor"}), "event.author"),
        (
            lambda s: _append_raw(s, **{"event.content_json": '{"t": "' + "x" * (2 * 1024 * 1024) + '"}'}),
            "event",
        ),
        (lambda s: _append_raw(s, expected_revision=-1), "expected_revision"),
        (lambda s: _append_raw(s, request_id="x" * 65), "request_id"),
        (lambda s: s.get_session_page("s", num_recent_events=-1), "num_recent_events"),
        (lambda s: s.get_session_page("s", after_timestamp=float("inf")), "after_timestamp"),
        (lambda s: s.get_session_page("s", event_page_token="forged"), "event_page_token"),
        (lambda s: s.get_user_state("alice", app_name="no spaces allowed"), "app_name"),
        (
            lambda s: s._call(
                s.stub.ExportSession,
                session_service_pb2.ExportSessionRequest(session_id="s", page_token="forged"),
            ),
            "page_token",
        ),
    ],
)
async def test_bad_event_and_state_requests_name_the_field(
    sessions: SessionClient, call: Call, field: str
) -> None:
    await sessions.create_session("alice", app_name="a", session_id="s", state={"kept": True})
    with pytest.raises(InvalidArgument) as raised:
        await call(sessions)
    assert field in {v.field for v in raised.value.field_violations}
    stored = await sessions.get_session_events("s", app_name="a", user_id="alice")
    assert (stored.event_count, stored.revision, stored.state) == (0, 1, {"kept": True})


async def test_a_stale_revision_is_aborted_and_a_duplicate_id_already_exists(sessions: SessionClient) -> None:
    await sessions.create_session("alice", app_name="a", session_id="s")
    event = SessionEvent(author="agent", timestamp=1.0, state_delta={"n": 1})
    first = await sessions.append_event("s", event, app_name="a", user_id="alice", expected_revision=1)
    with pytest.raises(Conflict):
        await sessions.append_event("s", event, app_name="a", user_id="alice", expected_revision=1)
    with pytest.raises(AlreadyExists):
        await sessions.create_session("alice", app_name="a", session_id="s")
    stored = await sessions.get_session_events("s", app_name="a", user_id="alice")
    assert stored.revision == first.revision == 2 and len(stored.events) == 1
