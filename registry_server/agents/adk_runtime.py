"""Runs a Google ADK agent through an ADK Runner, as a RunnableAgent that streams its text.

The agent's ADK session lives in the registry: app_name is the agent's registry name, user_id the turn's
user and session_id the registry session of the turn, reached through the server's agent-session socket.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from google.adk.agents import BaseAgent
from google.adk.agents.run_config import RunConfig, StreamingMode  # type: ignore[attr-defined]
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events import Event
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService, InMemorySessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from registry_server.agents.adk_stale_retry import StaleRetryingSessionService
from registry_server.agents.session_access import SessionAccess
from registry_server.domain.failure_text import AgentFailedError, cut
from registry_server.domain.session import KEPT_FOR_ROUTED_SESSION

DEFAULT_USER = "user"
MAX_CONTEXT_CHARS = 4000
# How many of the session's latest events are read to tell whether it holds the previous turn.
RECENT_EVENTS_CHECKED = 32
USER_AUTHOR = "user"


def session_service(access: SessionAccess | None) -> BaseSessionService:
    """The registry's sessions through the agent-session socket; in memory only outside a server."""
    if access is None:
        return InMemorySessionService()
    from agent_registry_client.adk import RegistrySessionService  # imported once an ADK agent needs it

    # Marked so that retention deletes it once the routed session it was kept for is gone.
    return StaleRetryingSessionService(
        RegistrySessionService(
            target=access.address, token=access.token, session_metadata=dict([KEPT_FOR_ROUTED_SESSION])
        )
    )


class AdkAgentRunner:
    """Sends the query as the user's message; partial events stream, final events make the answer."""

    def __init__(self, agent: BaseAgent, sessions: SessionAccess | None = None) -> None:
        self._agent = agent
        self._access = sessions
        self._sessions: BaseSessionService | None = None  # made in the running loop, on the first turn
        self._runners: dict[str, Runner] = {}

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        """The agent's text as it streams; an error event fails the turn."""
        app_name = str(context.get("agent_name") or self._agent.name)
        user_id = str(context.get("user_id") or DEFAULT_USER)
        session = await self._session(app_name, user_id, str(context.get("session_id") or ""))
        message = types.Content(role="user", parts=_message_parts(query, session, context))
        run_config = RunConfig(streaming_mode=StreamingMode.SSE)
        streamed = ""
        answered = False
        events = self._runner(app_name).run_async(
            user_id=user_id, session_id=session.id, new_message=message, run_config=run_config
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
                    if not streamed and answered:
                        rest = "\n\n" + rest
                    streamed = ""
                    answered = True
                    if rest:
                        yield rest

    def _service(self) -> BaseSessionService:
        if self._sessions is None:
            self._sessions = session_service(self._access)
        return self._sessions

    def _runner(self, app_name: str) -> Runner:
        runner = self._runners.get(app_name)
        if runner is None:
            runner = Runner(app_name=app_name, agent=self._agent, session_service=self._service())
            self._runners[app_name] = runner
        return runner

    async def _session(self, app_name: str, user_id: str, session_id: str) -> Session:
        """The agent's ADK session of the registry session (its latest events), created on the first turn."""
        service = self._service()
        recent = GetSessionConfig(num_recent_events=RECENT_EVENTS_CHECKED)
        if session_id:
            existing = await service.get_session(
                app_name=app_name, user_id=user_id, session_id=session_id, config=recent
            )
            if existing is not None:
                return existing
        try:
            return await service.create_session(
                app_name=app_name, user_id=user_id, session_id=session_id or None
            )
        except AlreadyExistsError:  # an overlapping first turn of the same session created it just now
            existing = await service.get_session(
                app_name=app_name, user_id=user_id, session_id=session_id, config=recent
            )
            if existing is None:
                raise AgentFailedError("the session was deleted while the agent was starting") from None
            return existing


def _message_parts(query: str, session: Session, context: Mapping[str, Any]) -> list[types.Part]:
    """The query, after the previous turn when the agent's session does not hold it already."""
    previous_query = str(context.get("previous_query") or "")
    previous_response = str(context.get("previous_response") or "")
    parts = []
    if previous_query and not _holds_turn(session, previous_query, previous_response):
        parts.append(
            types.Part(
                text="Previous turn, for context. The user asked: "
                f"{cut(previous_query, MAX_CONTEXT_CHARS)}\n"
                f"The answer was: {cut(previous_response, MAX_CONTEXT_CHARS)}"
            )
        )
    parts.append(types.Part(text=query))
    return parts


def _holds_turn(session: Session, query: str, response: str) -> bool:
    """Whether the session holds a turn that asked `query` and whose answers are part of `response`.

    The latest such turn is looked for, not only the last one: an overlapping turn may have come after it.
    """
    events = session.events
    for index in range(len(events) - 1, -1, -1):
        if events[index].author == USER_AUTHOR and _text_of(events[index]).endswith(query):
            answers = []
            for event in events[index + 1 :]:
                if event.author == USER_AUTHOR:
                    break
                if event.is_final_response() and _text_of(event):
                    answers.append(_text_of(event))
            return bool(answers) and all(answer in response for answer in answers)
    return False


def _text_of(event: Event) -> str:
    """The user-facing text of an event (thoughts left out)."""
    if event.content is None or not event.content.parts:
        return ""
    return "".join(part.text for part in event.content.parts if part.text and not part.thought)


def _raise_on_error(event: Event) -> None:
    if event.error_code or event.error_message:
        detail = f"{event.error_code or 'error'}: {event.error_message or 'no message'}"
        raise AgentFailedError(f"the ADK agent reported {cut(detail, 400)}")
