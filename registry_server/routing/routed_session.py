"""Finds the session a routed turn continues, by the id the caller gave."""

from __future__ import annotations

from registry_server.domain.errors import NotFoundError
from registry_server.domain.session import DEFAULT_APP, Session, SessionKey
from registry_server.sessions.store import SessionStore


async def routed_session(sessions: SessionStore, session_id: str) -> Session:
    """The router's own session (app `default`) with that id, else the one session of any app with it.

    A turn's ADK agents keep sessions with the same id in apps of their own: a bare id may name several.
    """
    try:
        return await sessions.get_session(SessionKey(session_id, DEFAULT_APP))
    except NotFoundError:
        return await sessions.get_session(session_id)
