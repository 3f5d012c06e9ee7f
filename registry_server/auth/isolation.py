"""Isolation: a `user` caller sees only its own sessions and acts only as itself; an agent worker sees only
its agents' own session apps."""

from __future__ import annotations

from registry_server.auth.principal import current_principal
from registry_server.domain.errors import NotFoundError, PermissionDeniedError
from registry_server.domain.session import DEFAULT_APP, Session


def acting_user(requested_user_id: str) -> str:
    """The user a call acts for: the requested one, or for a `user` caller itself (another is refused)."""
    scope = current_principal().user_scope
    if scope is None:
        return requested_user_id
    if requested_user_id and requested_user_id != scope:
        raise PermissionDeniedError(f"{current_principal().name} may act only as user {scope!r}")
    return scope


def check_visible(session: Session) -> Session:
    """The session, if the caller may see it; another user's session is NOT_FOUND, like a missing one."""
    scope = current_principal().user_scope
    if scope is not None and session.user_id != scope:
        raise NotFoundError(f"no session has id {session.session_id!r}; ListSessions shows a user's sessions")
    return session


def acting_app(requested_app_name: str) -> str:
    """The app a call uses; an agent worker must name an agent's app (the router's sessions are refused)."""
    if current_principal().agent_apps_only and requested_app_name in ("", DEFAULT_APP):
        raise PermissionDeniedError(
            f"{current_principal().name} may use only an agent's own sessions: give that agent's app_name"
        )
    return requested_app_name
