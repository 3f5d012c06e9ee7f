"""One user turn end to end: read the session, route, run the agents in parallel, record everything."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import replace

from registry_server.domain.errors import InvalidStateError, NotFoundError
from registry_server.domain.routing import (
    AgentChunk,
    AgentResult,
    RoutingDecision,
    SessionContext,
    TurnCompleted,
)
from registry_server.domain.session import NewInvocation, Role, SessionKey, SessionStatus
from registry_server.routing.invoker import InvocationLimits, invoke_all
from registry_server.routing.routed_session import routed_session
from registry_server.routing.router import Router
from registry_server.sessions.store import SessionStore
from registry_server.sessions.validation import validate_session_id, validate_user_id

TurnEvent = RoutingDecision | AgentChunk | AgentResult | TurnCompleted


class TurnRunner:
    """Runs RouteAndInvoke: every event is yielded after what it reports is durably recorded."""

    def __init__(
        self, router: Router, sessions: SessionStore, limits: InvocationLimits | None = None
    ) -> None:
        self._router = router
        self._sessions = sessions
        self._limits = limits or InvocationLimits()

    async def run(
        self, query: str, session_id: str, user_id: str, request_id: str = ""
    ) -> AsyncGenerator[TurnEvent, None]:
        """The decision, each agent's chunks and then its result, then the combined answer.

        Without a session_id the turn creates one under `request_id`, so a retried call reuses it.
        """
        self._router.validate_query(query)
        context, key = await self._session_context(session_id, user_id, request_id)
        decision = await self._router.decide(query, context)
        yield decision
        session_id, owner = context.session_id, key.user_id
        # Written by its full key: the turn's ADK agents keep sessions with the same id in their own apps.
        await self._sessions.append_history(key, Role.USER, query, "")

        index = self._router.index
        agents = [(name, getattr(index.agent(name), "instance", None)) for name in decision.selected_agents]
        agent_context = {
            "session_id": session_id,
            "user_id": owner,
            "previous_query": context.last_query,
            "previous_response": context.last_response,
            "last_agent": context.last_agent,
        }
        results: dict[str, AgentResult] = {}
        limits = replace(self._limits, timeout_s=self._router.config.agent_timeout_s)
        async for event in invoke_all(agents, query, agent_context, limits):
            if isinstance(event, AgentResult):
                await self._sessions.record_invocation(key, _invocation(query, event))
                results[event.agent_name] = event
            yield event

        combined = self._combine(decision.selected_agents, results)
        single = decision.selected_agents[0] if len(decision.selected_agents) == 1 else ""
        await self._sessions.append_history(key, Role.ASSISTANT, combined, single)
        primary = next((name for name in decision.selected_agents if results[name].success), "")
        if primary:
            await self._sessions.set_last_agent(key, primary, query, combined)
        yield TurnCompleted(combined, session_id)

    async def _session_context(
        self, session_id: str, user_id: str, request_id: str
    ) -> tuple[SessionContext, SessionKey]:
        """The given session's context and full key (a session is created when no session_id is given)."""
        if user_id:
            validate_user_id(user_id)
        if not session_id:
            if not user_id:
                validate_user_id(user_id)  # raises: a new session needs its user
            session = await self._sessions.create_session(
                user_id, {"created_by": "RouteAndInvoke"}, request_id=request_id
            )
            return SessionContext(session.session_id), session.key
        validate_session_id(session_id)
        session = await routed_session(self._sessions, session_id)
        if user_id and session.user_id != user_id:
            raise NotFoundError(f"no session has id {session_id!r}; ListSessions shows a user's sessions")
        if session.status is not SessionStatus.ACTIVE:
            raise InvalidStateError(f"session {session_id} is {session.status.value}; start a new session")
        context = SessionContext(
            session.session_id, session.last_agent_called, session.last_query, session.last_response
        )
        return context, session.key

    def _combine(self, selected: Sequence[str], results: Mapping[str, AgentResult]) -> str:
        """The answers under a heading per agent, in selection order; a lone answer needs no heading."""
        if not selected:
            return self._no_agent_answer()
        if len(selected) == 1:
            result = results[selected[0]]
            return (
                result.response
                if result.success
                else f"{_heading(self._router, selected[0])} is unavailable: {result.error}"
            )
        parts = []
        for name in selected:
            result = results[name]
            body = result.response if result.success else f"(unavailable: {result.error})"
            parts.append(f"**{_heading(self._router, name)}:**\n{body}")
        return "\n\n".join(parts)

    def _no_agent_answer(self) -> str:
        topics = sorted(
            {
                agent.spec.capabilities.domains[0]
                for agent in self._router.index.agents()
                if agent.spec.capabilities.domains
            }
        )
        listed = (
            ", ".join(topic.replace("_", " ") for topic in topics[:12])
            or "nothing yet: no agent is available"
        )
        return f"I could not find an agent for that request. I can help with: {listed}."


def _heading(router: Router, agent_name: str) -> str:
    """A heading for an agent's part of a combined answer: its first domain, else its name."""
    agent = router.index.agent(agent_name)
    domains = agent.spec.capabilities.domains if agent else ()
    return (domains[0] if domains else agent_name).replace("_", " ").capitalize()


def _invocation(query: str, result: AgentResult) -> NewInvocation:
    return NewInvocation(
        result.agent_name, query, result.response, result.success, result.duration_ms, result.error
    )
