"""What the registry requires of an agent object: an `async run(query, context)` method."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class RunnableAgent(Protocol):
    """An agent answers a query with a string, or with an async iterator of string chunks."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str | AsyncIterator[str]:
        """Answers `query`; `context` carries the session's previous query, response and agent."""
        ...


def runnable_problem(candidate: object) -> str | None:
    """Why `candidate` is not a RunnableAgent, or None when it is one."""
    run = getattr(candidate, "run", None)
    if run is None:
        return f"returned {type(candidate).__name__}, which has no run(query, context) method"
    if not (inspect.iscoroutinefunction(run) or inspect.isasyncgenfunction(run)):
        return f"returned {type(candidate).__name__}, whose run method is not async"
    return None
