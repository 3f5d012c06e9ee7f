"""A remote A2A agent as a runnable agent: `run(query, context)` streams its answer through a2a-sdk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, cast

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, get_message_text
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)
from google.protobuf import struct_pb2

from registry_server.agents.a2a.card import fetch_card, http_client
from registry_server.agents.circuit_breaker import BreakerSettings, CircuitBreaker
from registry_server.domain.agent import A2AEndpoint

log = logging.getLogger(__name__)

CARD_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
CANCEL_TIMEOUT_S = 2.0
# Context keys sent along with the query, as the message's metadata under "context".
CONTEXT_KEYS = ("previous_query", "previous_response", "last_agent", "session_id")
_TERMINAL_FAILURES: dict[int, str] = {
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_CANCELED: "was cancelled",
    TaskState.TASK_STATE_REJECTED: "was rejected",
    TaskState.TASK_STATE_INPUT_REQUIRED: "asked for more input, which a routed query cannot give",
    TaskState.TASK_STATE_AUTH_REQUIRED: "asked for authentication, which a routed query cannot give",
}
_FINISHED_STATES: set[int] = {*_TERMINAL_FAILURES, TaskState.TASK_STATE_COMPLETED}


class A2ATaskError(Exception):
    """The remote agent's task ended without an answer: failed, cancelled, rejected or waiting for input."""


class A2AAgent:
    """Sends each query as an A2A message and yields the answer's text as it arrives.

    Streams when the agent's card says it can. A run closed before its task finished (the caller went
    away, or its deadline passed) cancels the remote task.
    """

    def __init__(
        self,
        name: str,
        endpoint: A2AEndpoint,
        card: AgentCard,
        http: httpx.AsyncClient,
        circuit: CircuitBreaker,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.card = card
        self.circuit = circuit
        self._http = http
        config = ClientConfig(httpx_client=http, streaming=card.capabilities.streaming)
        self._client: Client = ClientFactory(config).create(card)

    @property
    def streaming(self) -> bool:
        """Whether the agent streams its answers."""
        return bool(self.card.capabilities.streaming)

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        """The answer's text, chunk by chunk; raises A2ATaskError when the task ends without an answer."""
        call = _Call()
        events = cast(AsyncGenerator[StreamResponse], self._client.send_message(_request(query, context)))
        try:
            async for event in events:
                for chunk in call.chunks_of(event):
                    yield chunk
            call.check_finished()
            self.circuit.record(True)
        except Exception:
            self.circuit.record(False)
            raise
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()
            if call.task_id and not call.finished:
                await self._cancel(call.task_id)

    @property
    def closed(self) -> bool:
        """Whether its HTTP client is closed."""
        return self._http.is_closed

    async def aclose(self) -> None:
        """Closes the HTTP connections."""
        await self._http.aclose()

    async def _cancel(self, task_id: str) -> None:
        """Asks the agent to cancel the task; a failure is logged, never raised."""
        try:
            async with asyncio.timeout(CANCEL_TIMEOUT_S):
                await self._client.cancel_task(CancelTaskRequest(id=task_id))
            log.info("agent %s: cancelled remote task %s", self.name, task_id)
        except Exception as error:
            log.warning("agent %s: could not cancel remote task %s: %s", self.name, task_id, error)


class _Call:
    """What one run has seen: the task, whether it finished, and which text it already yielded."""

    def __init__(self) -> None:
        self.task_id = ""
        self.finished = False
        self.state: int = TaskState.TASK_STATE_UNSPECIFIED
        self.failure_text = ""
        self.streamed = False

    def chunks_of(self, event: StreamResponse) -> list[str]:
        """The new text an event carries, in order."""
        kind = event.WhichOneof("payload")
        if kind == "message":
            self.finished = True
            self.state = TaskState.TASK_STATE_COMPLETED
            return _nonempty([get_message_text(event.message, "")])
        if kind == "artifact_update":
            self.task_id = self.task_id or event.artifact_update.task_id
            self.streamed = True
            return _nonempty([get_artifact_text(event.artifact_update.artifact, "")])
        if kind == "status_update":
            self.task_id = self.task_id or event.status_update.task_id
            self._status(event.status_update.status.state, event.status_update.status.message)
            return []
        if kind == "task":
            task = event.task
            self.task_id = task.id
            self._status(task.status.state, task.status.message)
            if self.finished and not self.streamed:  # a whole task, as non-streaming agents answer
                return _nonempty([get_artifact_text(artifact, "") for artifact in task.artifacts])
        return []

    def _status(self, state: int, message: Message) -> None:
        self.state = state
        self.finished = state in _FINISHED_STATES
        if state in _TERMINAL_FAILURES:
            self.failure_text = get_message_text(message, " ")

    def check_finished(self) -> None:
        """Raises A2ATaskError unless the task completed."""
        if self.state in _TERMINAL_FAILURES:
            detail = f": {self.failure_text[:300]}" if self.failure_text else ""
            raise A2ATaskError(f"the remote task {_TERMINAL_FAILURES[self.state]}{detail}")
        if not self.finished:
            raise A2ATaskError("the agent ended its answer before its task completed")


def _nonempty(texts: list[str]) -> list[str]:
    return [text for text in texts if text]


def _request(query: str, context: Mapping[str, Any]) -> SendMessageRequest:
    """The user's message: the query as text, the session's previous turn as metadata, the session as
    the A2A context."""
    metadata = struct_pb2.Struct()
    metadata.update({"context": {key: str(context.get(key) or "") for key in CONTEXT_KEYS}})
    message = Message(
        message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=query)], metadata=metadata
    )
    session_id = str(context.get("session_id") or "")
    if session_id:  # one A2A context per session, so the agent can keep its own view of the conversation
        message.context_id = session_id
    return SendMessageRequest(message=message)


async def build_a2a_agent(
    name: str, endpoint: A2AEndpoint, breaker: BreakerSettings | None = None
) -> A2AAgent:
    """Reads the agent's card and returns the agent; raises A2ACardError when the card is unusable."""
    http = http_client(endpoint.headers, CONNECT_TIMEOUT_S)
    http.timeout = httpx.Timeout(CONNECT_TIMEOUT_S, read=None)
    try:
        card = await fetch_card(http, endpoint.url, CARD_TIMEOUT_S)
    except BaseException:
        await http.aclose()
        raise
    return A2AAgent(name, endpoint, card, http, CircuitBreaker(name, breaker or BreakerSettings()))
