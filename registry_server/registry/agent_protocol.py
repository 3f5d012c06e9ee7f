"""What the registry requires of an agent object, and of whatever builds agents from their factories."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Protocol, runtime_checkable

from registry_server.domain.agent import FactoryRef


@runtime_checkable
class RunnableAgent(Protocol):
    """An agent answers a query with a string, or with an async iterator of string chunks."""

    def run(self, query: str, context: Mapping[str, Any]) -> Any:
        """Answers `query`: an awaitable of str, or an async iterator of str chunks.

        `context` carries the session's previous query, response and agent.
        """
        ...


class AgentBuilder(Protocol):
    """Turns a factory reference into a runnable agent, or raises FactoryError naming the cause."""

    async def build(self, factory: FactoryRef, *, reimport: bool = False) -> RunnableAgent:
        """A new agent from `factory`; with `reimport`, the module's current code is loaded first."""
        ...


def runnable_problem(candidate: object) -> str | None:
    """Why `candidate` is not a RunnableAgent, or None when it is one."""
    kind = type(candidate).__name__
    run = getattr(candidate, "run", None)
    if run is None or not callable(run):
        return f"returned {kind}, which has no run(query, context) method"
    if not (inspect.iscoroutinefunction(run) or inspect.isasyncgenfunction(run)):
        return f"returned {kind}, whose run method is not async"
    try:
        inspect.signature(run).bind("query", {})
    except (TypeError, ValueError):
        return f"returned {kind}, whose run method does not accept (query, context)"
    return None


async def answer_chunks(
    agent: RunnableAgent, query: str, context: Mapping[str, Any]
) -> AsyncGenerator[str, None]:
    """The agent's answer as chunks of text, whichever of the two forms its run method returns."""
    result = agent.run(query, context)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        yield result
        return
    if not hasattr(result, "__aiter__"):
        raise TypeError(f"the agent returned {type(result).__name__}, not str or an async iterator of str")
    try:
        async for chunk in result:
            if not isinstance(chunk, str):
                raise TypeError(f"the agent streamed {type(chunk).__name__}, not str")
            yield chunk
    finally:
        close = getattr(result, "aclose", None)
        if close is not None:
            await close()
