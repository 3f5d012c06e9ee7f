"""GetSession's ADK event JSON end to end, on SQLite and PostgreSQL: the same events as the Event messages,
with the same filters and pages, each response within the gRPC message limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from agent_registry_client.adk import RegistrySessionService
from agentregistry.v1 import session_service_pb2 as pb
from tests.conftest import StartServer

APP = "pages_app"
MESSAGE_LIMIT = 4 * 1024 * 1024


@pytest.fixture(params=["sqlite", "postgresql"])
async def service(
    request: pytest.FixtureRequest, start: StartServer
) -> AsyncIterator[RegistrySessionService]:
    overrides: dict[str, Any] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    server = await start(**overrides)
    registry = RegistrySessionService(target=f"127.0.0.1:{server.port}")
    yield registry
    await registry.close()


def event(number: int, text: str = "") -> Event:
    return Event(
        invocation_id=f"inv-{number // 2}",
        author="planner",
        timestamp=1_800_000_000.0 + number / 7,
        content=types.Content(role="model", parts=[types.Part(text=text or f"step {number}")]),
        actions=EventActions(state_delta={"step": number}),
        turn_complete=True if number % 2 else None,
    )


async def append(service: RegistrySessionService, events: list[Event]) -> str:
    session = await service.create_session(app_name=APP, user_id="ana")
    for item in events:
        await service.append_event(session, item)
    return session.id


async def raw_page(service: RegistrySessionService, session_id: str, **fields: Any) -> pb.GetSessionResponse:
    client = service._client
    request = pb.GetSessionRequest(session_id=session_id, app_name=APP, user_id="ana", **fields)
    response: pb.GetSessionResponse = await client._call(client.stub.GetSession, request)
    return response


async def test_large_events_come_in_pages_within_the_message_limit(service: RegistrySessionService) -> None:
    # 17 events of 256 KiB: more than one response may carry.
    appended = [event(number, f"{number:02d}" + "x" * (256 * 1024)) for number in range(17)]
    session_id = await append(service, appended)
    first = await raw_page(service, session_id, adk_events_json=True)
    assert first.ByteSize() < MESSAGE_LIMIT and first.next_event_page_token
    assert 0 < len(json.loads(first.adk_events_json)) < 17 and not first.session.events
    read = await service.get_session(app_name=APP, user_id="ana", session_id=session_id)
    assert read is not None and read.events == appended


async def test_the_json_holds_the_same_events_as_the_messages(service: RegistrySessionService) -> None:
    session_id = await append(service, [event(number) for number in range(30)])
    for fields in ({}, {"num_recent_events": 4}, {"after_timestamp": 1_800_000_000.0 + 25 / 7}, {}):
        messages = await raw_page(service, session_id, event_page_size=7, **fields)
        documents = await raw_page(service, session_id, event_page_size=7, adk_events_json=True, **fields)
        assert [item["id"] for item in json.loads(documents.adk_events_json)] == [
            message.id for message in messages.session.events
        ]
        assert documents.next_event_page_token == messages.next_event_page_token
    followed = await raw_page(
        service,
        session_id,
        event_page_size=7,
        adk_events_json=True,
        event_page_token=documents.next_event_page_token,
    )
    assert [item["actions"]["state_delta"]["step"] for item in json.loads(followed.adk_events_json)] == list(
        range(7, 14)
    )


async def test_filters_keep_what_adk_keeps(service: RegistrySessionService) -> None:
    appended = [event(number) for number in range(12)]
    session_id = await append(service, appended)
    recent = await service.get_session(
        app_name=APP, user_id="ana", session_id=session_id, config=GetSessionConfig(num_recent_events=3)
    )
    assert recent is not None and recent.events == appended[-3:]
    after = await service.get_session(
        app_name=APP,
        user_id="ana",
        session_id=session_id,
        config=GetSessionConfig(after_timestamp=appended[5].timestamp),
    )
    assert after is not None and after.events == appended[5:] and after.state == {"step": 11}
    none = await service.get_session(
        app_name=APP, user_id="ana", session_id=session_id, config=GetSessionConfig(num_recent_events=0)
    )
    empty = await raw_page(service, session_id, adk_events_json=True, num_recent_events=0)
    assert none is not None and none.events == [] and empty.adk_events_json == "[]"
