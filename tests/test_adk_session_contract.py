"""ADK's BaseSessionService contract, run against RegistrySessionService and ADK's InMemorySessionService
side by side, so that any divergence shows; plus what only a shared, durable store can promise."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
from google.adk.errors._stale_session_error import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types

from agent_registry_client.adk import RegistrySessionService
from tests.conftest import StartServer

APP = "travel_app"


@pytest.fixture(params=["registry", "in_memory"])
async def service(request: pytest.FixtureRequest, start: StartServer) -> AsyncIterator[BaseSessionService]:
    if request.param == "in_memory":
        yield InMemorySessionService()
        return
    server = await start()
    registry = RegistrySessionService(target=f"127.0.0.1:{server.port}")
    yield registry
    await registry.close()


def text_event(text: str, delta: dict[str, object] | None = None, **fields: object) -> Event:
    return Event(
        invocation_id="inv-1",
        author="travel_agent",
        content=types.Content(role="model", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta or {}),
        **fields,  # type: ignore[arg-type]
    )


async def test_create_get_list_delete(service: BaseSessionService) -> None:
    created = await service.create_session(app_name=APP, user_id="alice", state={"city": "Oslo"})
    assert created.id and created.state == {"city": "Oslo"}
    fetched = await service.get_session(app_name=APP, user_id="alice", session_id=created.id)
    assert fetched is not None and fetched.state == {"city": "Oslo"} and fetched.events == []
    chosen = await service.create_session(app_name=APP, user_id="alice", session_id="my-id")
    assert chosen.id == "my-id"
    listed = await service.list_sessions(app_name=APP, user_id="alice")
    assert [s.id for s in listed.sessions] == [created.id, "my-id"]
    assert all(s.events == [] for s in listed.sessions)
    await service.delete_session(app_name=APP, user_id="alice", session_id=created.id)
    assert await service.get_session(app_name=APP, user_id="alice", session_id=created.id) is None
    assert await service.get_session(app_name=APP, user_id="bob", session_id="my-id") is None
    await service.delete_session(app_name=APP, user_id="alice", session_id="never-existed")


async def test_duplicate_id_is_refused(service: BaseSessionService) -> None:
    await service.create_session(app_name=APP, user_id="alice", session_id="dup")
    with pytest.raises(AlreadyExistsError):
        await service.create_session(app_name=APP, user_id="alice", session_id="dup")
    await service.create_session(app_name=APP, user_id="bob", session_id="dup")


async def test_three_scopes_and_temp(service: BaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="alice")
    delta = {"count": 1, "user:lang": "nb", "app:version": 2, "temp:scratch": "x"}
    appended = await service.append_event(session, text_event("hi", delta))
    assert "temp:scratch" not in (appended.actions.state_delta or {})
    assert session.state["temp:scratch"] == "x"  # visible for the rest of the invocation only
    stored = await service.get_session(app_name=APP, user_id="alice", session_id=session.id)
    assert stored is not None
    assert stored.state == {"count": 1, "user:lang": "nb", "app:version": 2}
    other = await service.create_session(app_name=APP, user_id="alice")
    assert other.state == {"user:lang": "nb", "app:version": 2}
    stranger = await service.create_session(app_name=APP, user_id="bob")
    assert stranger.state == {"app:version": 2}
    assert await service.get_user_state(app_name=APP, user_id="alice") == {"lang": "nb"}
    assert await service.get_user_state(app_name=APP, user_id="nobody") == {}


async def test_recent_events_and_after_timestamp(service: BaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="alice")
    for index in range(10):
        await service.append_event(session, text_event(f"m{index}", timestamp=1_000.0 + index))
    recent = await service.get_session(
        app_name=APP, user_id="alice", session_id=session.id, config=GetSessionConfig(num_recent_events=3)
    )
    assert recent is not None and [e.timestamp for e in recent.events] == [1_007.0, 1_008.0, 1_009.0]
    none = await service.get_session(
        app_name=APP, user_id="alice", session_id=session.id, config=GetSessionConfig(num_recent_events=0)
    )
    assert none is not None and none.events == []
    after = await service.get_session(
        app_name=APP, user_id="alice", session_id=session.id, config=GetSessionConfig(after_timestamp=1_005.0)
    )
    assert after is not None and [e.content.parts[0].text for e in after.events] == [
        "m5",
        "m6",
        "m7",
        "m8",
        "m9",
    ]


async def test_partial_events_are_not_stored(service: BaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="alice")
    await service.append_event(session, text_event("stre", {"k": 1}, partial=True))
    await service.append_event(session, text_event("streamed"))
    stored = await service.get_session(app_name=APP, user_id="alice", session_id=session.id)
    assert stored is not None
    assert [e.content.parts[0].text for e in stored.events] == ["streamed"] and stored.state == {}


async def test_image_and_function_call_events_round_trip(service: BaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="alice")
    image = bytes(range(256)) * 800  # 200 KB of binary data
    picture = Event(
        invocation_id="inv-1",
        author="user",
        content=types.Content(
            role="user",
            parts=[
                types.Part(text="what is this?"),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=image)),
            ],
        ),
    )
    call = Event(
        invocation_id="inv-1",
        author="travel_agent",
        content=types.Content(
            role="model",
            parts=[
                types.Part(
                    function_call=types.FunctionCall(id="c1", name="book", args={"city": "Oslo", "n": 2})
                )
            ],
        ),
        actions=EventActions(transfer_to_agent="booking_agent", artifact_delta={"ticket.pdf": 1}),
    )
    await service.append_event(session, picture)
    await service.append_event(session, call)
    stored = await service.get_session(app_name=APP, user_id="alice", session_id=session.id)
    assert stored is not None
    assert stored.events[0].content.parts[1].inline_data.data == image
    assert stored.events[0].id == picture.id
    function_call = stored.events[1].content.parts[0].function_call
    assert (function_call.name, function_call.args) == ("book", {"city": "Oslo", "n": 2})
    assert stored.events[1].actions.transfer_to_agent == "booking_agent"
    assert stored.events[1].actions.artifact_delta == {"ticket.pdf": 1}
    assert base64.b64encode(image)  # the image went over the wire as JSON base64 and came back as bytes


async def test_state_is_visible_from_a_fresh_client(start: StartServer) -> None:
    server = await start()
    target = f"127.0.0.1:{server.port}"
    writer = RegistrySessionService(target=target)
    session = await writer.create_session(app_name=APP, user_id="alice", session_id="shared")
    await writer.append_event(session, text_event("hi", {"topic": "trains", "user:seat": "window"}))
    await writer.close()
    reader = RegistrySessionService(target=target)
    fetched = await reader.get_session(app_name=APP, user_id="alice", session_id="shared")
    await reader.close()
    assert fetched is not None and fetched.state == {"topic": "trains", "user:seat": "window"}
    assert [e.content.parts[0].text for e in fetched.events] == ["hi"]


async def test_overlapping_turns_get_a_stale_session_error(start: StartServer) -> None:
    server = await start()
    service = RegistrySessionService(target=f"127.0.0.1:{server.port}")
    created = await service.create_session(app_name=APP, user_id="alice", session_id="s")
    first = await service.get_session(app_name=APP, user_id="alice", session_id="s")
    second = await service.get_session(app_name=APP, user_id="alice", session_id="s")
    assert first is not None and second is not None and created.id == "s"
    await service.append_event(first, text_event("turn one", {"n": 1}))
    with pytest.raises(StaleSessionError):
        await service.append_event(second, text_event("turn two", {"n": 2}))
    retried = await service.get_session(app_name=APP, user_id="alice", session_id="s")
    assert retried is not None
    await service.append_event(retried, text_event("turn two", {"n": 2}))
    final = await service.get_session(app_name=APP, user_id="alice", session_id="s")
    await service.close()
    assert final is not None and final.state == {"n": 2}
    assert [e.content.parts[0].text for e in final.events] == ["turn one", "turn two"]


async def test_two_concurrent_creates_with_one_id(start: StartServer) -> None:
    server = await start()
    service = RegistrySessionService(target=f"127.0.0.1:{server.port}")
    outcomes = await asyncio.gather(
        *(service.create_session(app_name=APP, user_id="alice", session_id="race") for _ in range(2)),
        return_exceptions=True,
    )
    await service.close()
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AlreadyExistsError", "Session"]
