"""Audit lines for mutations and refused callers: who did what to which resource, and how it ended.

Every request field in a line is escaped and capped, so a request can neither forge a line nor flood the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from registry_server.auth.principal import Principal
from registry_server.domain.log_text import loggable

log = logging.getLogger("registry_server.audit")
MAX_NAMES = 10
MAX_NAME_CHARS = 80


def _name(value: str) -> str:
    return loggable(value, MAX_NAME_CHARS)


ResourceReader = Callable[[Any], str]
# A request type's fields never change: the way to name its resource is chosen once per type, not per call.
_READERS: dict[type[Message], ResourceReader] = {}


def resource_of(request: Message) -> str:
    """The resource a request acts on: `agents/<name>`, `sessions/<id>`, `users/<id>` or `sessions/*`."""
    reader = _READERS.get(type(request))
    if reader is None:
        reader = _READERS[type(request)] = _reader_for(frozenset(request.DESCRIPTOR.fields_by_name))
    return reader(request)


def _reader_for(fields: frozenset[str]) -> ResourceReader:
    """How to name the resource of a request with these fields."""
    if "agent" in fields:
        return lambda request: f"agents/{_name(request.agent.name)}"
    if "agents" in fields:
        return _agents
    if "name" in fields:
        return lambda request: f"agents/{_name(request.name)}"
    without_session = _new_session if "user_id" in fields else _every_session
    if "session_id" in fields:
        return lambda request: (
            f"sessions/{_name(request.session_id)}" if request.session_id else without_session(request)
        )
    return without_session


def _agents(request: Any) -> str:
    agents = request.agents
    shown = ",".join(_name(agent.name) for agent in agents[:MAX_NAMES])
    extra = f",...(+{len(agents) - MAX_NAMES})" if len(agents) > MAX_NAMES else ""
    return f"agents/{shown}{extra}"


def _new_session(request: Any) -> str:
    return f"users/{_name(request.user_id) or '-'}/sessions/new"


def _every_session(request: Any) -> str:
    return "sessions/*"


def audit(
    principal: Principal | None,
    method: str,
    request: Message | None,
    code: str,
    *,
    peer: str | None = None,
    suppressed: int = 0,
) -> None:
    """Logs one audit line; a refused caller's names its peer and how many similar lines were left out."""
    who = principal.name if principal else "unauthenticated"
    what = method.rsplit("/", 1)[-1]
    resource = resource_of(request) if isinstance(request, Message) else "-"
    line = f"audit principal={who} method={what} resource={resource} code={code}"
    if peer is not None:
        line += f" peer={loggable(peer)}"
    if suppressed:
        line += f" ({suppressed} similar lines left out)"
    log.info("%s", line)
