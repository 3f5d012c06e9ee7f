"""How an agent's failure is described: a short line for callers, an escaped bounded text for the log."""

from __future__ import annotations

MAX_ERROR_CHARS = 500
MAX_LOGGED_TRACEBACK_CHARS = 8000


def describe_exception(exc: BaseException, limit: int = MAX_ERROR_CHARS) -> str:
    """The exception's class and message, cut short: what a caller may see (never a traceback)."""
    text = str(exc)
    return cut(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, limit)


def cut(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escaped_for_log(text: str, limit: int = MAX_LOGGED_TRACEBACK_CHARS) -> str:
    """`text` on one line, control characters escaped, cut to `limit` characters."""
    escaped = text.encode("unicode_escape", errors="backslashreplace").decode("ascii")
    return cut(escaped, limit)


class AgentFailedError(Exception):
    """An agent failed where it ran (a worker, a remote service); the message is what callers see.

    `details` (a traceback, say) goes only to the server log.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details
