"""Per-user isolation: a `user` caller sees only its own sessions and acts only as itself."""

from __future__ import annotations

from registry_server.auth.principal import current_principal
from registry_server.domain.errors import NotFoundError, PermissionDeniedError
from registry_server.domain.session import Session


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
