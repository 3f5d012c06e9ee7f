"""RegistrySessionService with a server that predates ADK event JSON: a clear error, not an empty session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpc import aio

from agent_registry_client.adk import RegistrySessionService
from agent_registry_client.errors import AgentRegistryError, StatusCode
from agentregistry.v1 import session_pb2, session_service_pb2_grpc
from agentregistry.v1 import session_service_pb2 as pb


class OldSessionService(session_service_pb2_grpc.SessionServiceServicer):
    """Answers GetSession as a server without `adk_events_json` does: events as messages only."""

    async def GetSession(
        self, request: pb.GetSessionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetSessionResponse:
        event = session_pb2.Event(id="e1", author="agent", timestamp=1.0, seq=1)
        session = session_pb2.Session(session_id=request.session_id, app_name="a", user_id="u", revision=2)
        session.events.append(event)
        return pb.GetSessionResponse(session=session)


@pytest.fixture
async def old_server() -> AsyncIterator[str]:
    server = aio.server()
    session_service_pb2_grpc.add_SessionServiceServicer_to_server(OldSessionService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


async def test_an_old_server_is_named_as_the_cause(old_server: str) -> None:
    service = RegistrySessionService(target=old_server)
    try:
        with pytest.raises(AgentRegistryError) as raised:
            await service.get_session(app_name="a", user_id="u", session_id="s")
    finally:
        await service.close()
    assert raised.value.code is StatusCode.UNIMPLEMENTED and "upgrade" in raised.value.message
