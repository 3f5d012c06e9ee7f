"""The caller of the current RPC: its name, roles and, for end users, the user it acts as."""

from __future__ import annotations

import contextvars
import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """What a token may do."""

    ADMIN = "admin"  # everything
    SERVICE = "service"  # reads the registry, routes, reads and writes any user's sessions (Jarvis)
    READER = "reader"  # reads the registry
    USER = "user"  # routes as its user and reads only that user's sessions
    # Internal: the server's agent workers keeping ADK sessions; never a role of an auth config token.
    AGENT_WORKER = "agent_worker"


# Roles the server gives only to principals it makes itself.
INTERNAL_ROLES = frozenset({Role.AGENT_WORKER})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    roles: frozenset[Role]
    user_id: str = ""

    @property
    def user_scope(self) -> str | None:
        """The only user whose sessions this caller may see, or None when it may see every user's."""
        if self.roles & {Role.ADMIN, Role.SERVICE, Role.AGENT_WORKER}:
            return None
        return self.user_id

    @property
    def agent_apps_only(self) -> bool:
        """Whether this caller may use only agents' own session apps, never the router's "default" one."""
        return self.roles == {Role.AGENT_WORKER}


class MissingPrincipalError(RuntimeError):
    """Code asked for the caller outside an admitted RPC: a bug, never a reason to grant anything."""


# Without an auth config every caller is trusted (the server then listens on loopback only by default). The
# interceptor sets this principal explicitly for each such call; it is never a default.
UNAUTHENTICATED_ADMIN = Principal("anonymous", frozenset({Role.ADMIN}))
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal() -> Principal:
    """The caller of the RPC being served; raises MissingPrincipalError outside one."""
    try:
        return _current.get()
    except LookupError:
        raise MissingPrincipalError(
            "no caller is known here: the principal is set only while an admitted RPC is served"
        ) from None


def set_current_principal(principal: Principal) -> None:
    """Records the caller for the rest of this RPC's task."""
    _current.set(principal)
