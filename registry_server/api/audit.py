"""Audit lines for mutations: who did what to which resource, and how it ended."""

from __future__ import annotations

import logging

from google.protobuf.message import Message

from registry_server.auth.principal import Principal

log = logging.getLogger("registry_server.audit")
MAX_NAMES = 10


def resource_of(request: Message) -> str:
    """The resource a request acts on: `agents/<name>`, `sessions/<id>`, `users/<id>` or `sessions/*`."""
    fields = request.DESCRIPTOR.fields_by_name
    if "agent" in fields:
        return f"agents/{request.agent.name}"  # type: ignore[attr-defined]
    if "agents" in fields:
        names = [agent.name for agent in request.agents]  # type: ignore[attr-defined]
        shown = ",".join(names[:MAX_NAMES]) + (
            f",...(+{len(names) - MAX_NAMES})" if len(names) > MAX_NAMES else ""
        )
        return f"agents/{shown}"
    if "name" in fields:
        return f"agents/{request.name}"  # type: ignore[attr-defined]
    if "session_id" in fields and request.session_id:  # type: ignore[attr-defined]
        return f"sessions/{request.session_id}"  # type: ignore[attr-defined]
    if "user_id" in fields:
        return f"users/{request.user_id or '-'}/sessions/new"  # type: ignore[attr-defined]
    return "sessions/*"


def audit(principal: Principal | None, method: str, request: Message | None, code: str) -> None:
    """Logs one audit line."""
    who = principal.name if principal else "unauthenticated"
    what = method.rsplit("/", 1)[-1]
    resource = resource_of(request) if request is not None else "-"
    log.info("audit principal=%s method=%s resource=%s code=%s", who, what, resource, code)
