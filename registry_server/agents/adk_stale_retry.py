"""An ADK session service that lets overlapping turns of one session both land, without lost updates.

A turn's append is refused as stale (ADK's StaleSessionError, the server's ABORTED) when another turn wrote
to the session since this turn read it. The append is then retried on the session as it now stands, unless
the other turn changed a state key this event also sets: overwriting it would lose that update, so the turn
fails instead, saying so.
"""

from __future__ import annotations

from typing import Any

from google.adk.errors._stale_session_error import StaleSessionError
from google.adk.events import Event
from google.adk.sessions import BaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig, ListSessionsResponse
from google.adk.sessions.state import State

from registry_server.domain.failure_text import AgentFailedError, cut

# How often one event is re-based onto a session that other turns keep changing before the turn gives up.
MAX_STALE_RETRIES = 5


class ConcurrentTurnError(AgentFailedError):
    """Another turn of the same session changed what this turn was about to write."""


class StaleRetryingSessionService(BaseSessionService):
    """Wraps a session service whose append_event may raise StaleSessionError; retries what is safe."""

    def __init__(self, inner: BaseSessionService, max_retries: int = MAX_STALE_RETRIES) -> None:
        self._inner = inner
        self._max_retries = max_retries

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Creates the session in the wrapped service."""
        return await self._inner.create_session(
            app_name=app_name, user_id=user_id, state=state, session_id=session_id
        )

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """The session from the wrapped service."""
        return await self._inner.get_session(
            app_name=app_name, user_id=user_id, session_id=session_id, config=config
        )

    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        """The sessions of the wrapped service."""
        return await self._inner.list_sessions(app_name=app_name, user_id=user_id)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Deletes the session in the wrapped service."""
        await self._inner.delete_session(app_name=app_name, user_id=user_id, session_id=session_id)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state from the wrapped service."""
        return await self._inner.get_user_state(app_name=app_name, user_id=user_id)

    async def append_event(self, session: Session, event: Event) -> Event:
        """Appends through the wrapped service, re-basing `session` on the stored one when it was stale."""
        retries = 0
        while True:
            try:
                return await self._inner.append_event(session, event)
            except StaleSessionError:
                if retries == self._max_retries:
                    raise ConcurrentTurnError(
                        f"other turns of this session kept changing it ({retries} retries); ask again"
                    ) from None
                retries += 1
            await self._rebase(session, event)

    async def _rebase(self, session: Session, event: Event) -> None:
        """Brings `session` up to the stored session; raises ConcurrentTurnError on a conflicting write."""
        stored = await self._inner.get_session(
            app_name=session.app_name, user_id=session.user_id, session_id=session.id
        )
        if stored is None:
            raise AgentFailedError("the session was deleted while the agent was answering")
        known = {existing.id for existing in session.events}
        changed = {key for other in stored.events if other.id not in known for key in _written_keys(other)}
        conflicts = sorted(changed & _written_keys(event))
        if conflicts:
            raise ConcurrentTurnError(
                "another turn of this session changed the state "
                f"{cut(', '.join(conflicts), 200)} while this turn was answering; ask again"
            )
        temporary = {key: value for key, value in session.state.items() if key.startswith(State.TEMP_PREFIX)}
        session.events[:] = stored.events
        session.state.clear()
        session.state.update({**stored.state, **temporary})
        session.last_update_time = stored.last_update_time
        session._storage_update_marker = stored._storage_update_marker


def _written_keys(event: Event) -> set[str]:
    """The stored state keys an event sets (temp keys are never stored)."""
    delta = event.actions.state_delta if event.actions else {}
    return {key for key in delta or {} if not key.startswith(State.TEMP_PREFIX)}
