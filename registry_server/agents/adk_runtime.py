"""Runs a Google ADK agent through an ADK Runner, as a RunnableAgent that streams its text."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

from google.adk.agents import BaseAgent
from google.adk.agents.run_config import RunConfig, StreamingMode  # type: ignore[attr-defined]
from google.adk.events import Event
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService, InMemorySessionService
from google.genai import types

from registry_server.domain.failure_text import AgentFailedError, cut

APP_NAME = "agent_registry"
DEFAULT_USER = "user"
MAX_CONTEXT_CHARS = 4000
# How many sessions' last answers an agent remembers, to avoid resending a turn its session already holds.
MAX_REMEMBERED_SESSIONS = 10_000


def session_service() -> BaseSessionService:
    """The ADK session service of one agent: ADK state lives per registry session id."""
    return InMemorySessionService()


class AdkAgentRunner:
    """Sends the query as the user's message; partial events stream, final events make the answer."""

    def __init__(self, agent: BaseAgent) -> None:
        self._sessions = session_service()
        self._runner = Runner(app_name=APP_NAME, agent=agent, session_service=self._sessions)
        self._last_answers: OrderedDict[str, str] = OrderedDict()

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        """The agent's text as it streams; an error event fails the turn."""
        user_id = str(context.get("user_id") or DEFAULT_USER)
        session_id = str(context.get("session_id") or "")
        session_id = await self._session(user_id, session_id)
        message = types.Content(role="user", parts=self._message_parts(query, session_id, context))
        run_config = RunConfig(streaming_mode=StreamingMode.SSE)
        streamed = ""
        answer: list[str] = []
        events = self._runner.run_async(
            user_id=user_id, session_id=session_id, new_message=message, run_config=run_config
        )
        async with contextlib.aclosing(events):
            async for event in events:
                _raise_on_error(event)
                text = _text_of(event)
                if event.partial:
                    streamed += text
                    if text:
                        yield text
                elif event.is_final_response() and text:
                    rest = text.removeprefix(streamed) if streamed and text.startswith(streamed) else text
                    if not streamed and answer:
                        rest = "\n\n" + rest
                    streamed = ""
                    answer.append(text)
                    if rest:
                        yield rest
        self._remember(session_id, "\n\n".join(answer))

    def _remember(self, session_id: str, answer: str) -> None:
        self._last_answers[session_id] = answer
        self._last_answers.move_to_end(session_id)
        while len(self._last_answers) > MAX_REMEMBERED_SESSIONS:
            self._last_answers.popitem(last=False)

    async def _session(self, user_id: str, session_id: str) -> str:
        """The id of the ADK session for the registry session, created on the first turn."""
        if session_id:
            existing = await self._sessions.get_session(
                app_name=APP_NAME, user_id=user_id, session_id=session_id
            )
            if existing is not None:
                return session_id
        created = await self._sessions.create_session(
            app_name=APP_NAME, user_id=user_id, session_id=session_id or None
        )
        return created.id

    def _message_parts(self, query: str, session_id: str, context: Mapping[str, Any]) -> list[types.Part]:
        """The query, after the previous turn when this agent's session does not hold it already."""
        previous_query = str(context.get("previous_query") or "")
        previous_response = str(context.get("previous_response") or "")
        parts = []
        if previous_query and previous_response != self._last_answers.get(session_id):
            parts.append(
                types.Part(
                    text="Previous turn, for context. The user asked: "
                    f"{cut(previous_query, MAX_CONTEXT_CHARS)}\n"
                    f"The answer was: {cut(previous_response, MAX_CONTEXT_CHARS)}"
                )
            )
        parts.append(types.Part(text=query))
        return parts


def _text_of(event: Event) -> str:
    """The user-facing text of an event (thoughts left out)."""
    if event.content is None or not event.content.parts:
        return ""
    return "".join(part.text for part in event.content.parts if part.text and not part.thought)


def _raise_on_error(event: Event) -> None:
    if event.error_code or event.error_message:
        detail = f"{event.error_code or 'error'}: {event.error_message or 'no message'}"
        raise AgentFailedError(f"the ADK agent reported {cut(detail, 400)}")
