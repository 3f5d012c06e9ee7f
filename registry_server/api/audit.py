"""Audit lines for mutations and refused callers: who did what to which resource, and how it ended.

Every request field in a line is escaped and capped, so a request can neither forge a line nor flood the log.
"""

from __future__ import annotations

import logging

from google.protobuf.message import Message

from registry_server.auth.principal import Principal
from registry_server.domain.log_text import loggable

log = logging.getLogger("registry_server.audit")
MAX_NAMES = 10
MAX_NAME_CHARS = 80


def _name(value: str) -> str:
    return loggable(value, MAX_NAME_CHARS)


def resource_of(request: Message) -> str:
    """The resource a request acts on: `agents/<name>`, `sessions/<id>`, `users/<id>` or `sessions/*`."""
    fields = request.DESCRIPTOR.fields_by_name
    if "agent" in fields:
        return f"agents/{_name(request.agent.name)}"  # type: ignore[attr-defined]
    if "agents" in fields:
        agents = request.agents  # type: ignore[attr-defined]
        shown = ",".join(_name(agent.name) for agent in agents[:MAX_NAMES])
        extra = f",...(+{len(agents) - MAX_NAMES})" if len(agents) > MAX_NAMES else ""
        return f"agents/{shown}{extra}"
    if "name" in fields:
        return f"agents/{_name(request.name)}"  # type: ignore[attr-defined]
    if "session_id" in fields and request.session_id:  # type: ignore[attr-defined]
        return f"sessions/{_name(request.session_id)}"  # type: ignore[attr-defined]
    if "user_id" in fields:
        return f"users/{_name(request.user_id) or '-'}/sessions/new"  # type: ignore[attr-defined]
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
