"""The id of the request being served, for log lines and the caller's trailing metadata."""

from __future__ import annotations

import contextvars
import itertools
import secrets

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# A random per-process prefix and a counter: unique across restarts and instances, and cheaper than a UUID.
_PREFIX = secrets.token_hex(4)
_counter = itertools.count(1)


def new_request_id() -> str:
    """A fresh request id."""
    return f"{_PREFIX}-{next(_counter):x}"


def current_request_id() -> str:
    """The id of the request being served, or "" outside one."""
    return _current.get()


def set_request_id(request_id: str) -> None:
    """Makes `request_id` the current one for the rest of this task."""
    _current.set(request_id)
