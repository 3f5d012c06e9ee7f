"""Runs the selected agents concurrently and yields each one's result as soon as it finishes."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from registry_server.domain.routing import AgentResult


async def invoke_all(
    agents: Sequence[tuple[str, object | None]], query: str, context: Mapping[str, Any], timeout_s: float
) -> AsyncIterator[AgentResult]:
    """One result per agent, in the order they finish; closing the iterator cancels agents still running."""
    tasks = [asyncio.create_task(_run_one(name, agent, query, context, timeout_s)) for name, agent in agents]
    try:
        for finished in asyncio.as_completed(tasks):
            yield await finished
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


async def _run_one(
    name: str, agent: object | None, query: str, context: Mapping[str, Any], timeout_s: float
) -> AgentResult:
    started = time.perf_counter()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    if agent is None:
        return AgentResult(name, "", False, 0, "the agent is no longer registered or available")
    try:
        async with asyncio.timeout(timeout_s):
            response = await _answer(agent, query, context)
    except TimeoutError:
        return AgentResult(name, "", False, elapsed_ms(), f"timed out after {timeout_s:g} s")
    except Exception as error:
        return AgentResult(name, "", False, elapsed_ms(), f"{type(error).__name__}: {error}")
    return AgentResult(name, response, True, elapsed_ms())


async def _answer(agent: object, query: str, context: Mapping[str, Any]) -> str:
    """The agent's whole answer: awaited, or its chunks joined."""
    result = agent.run(query, context)  # type: ignore[attr-defined]
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        return result
    if hasattr(result, "__aiter__"):
        chunks = [chunk async for chunk in result]
        if not all(isinstance(chunk, str) for chunk in chunks):
            raise TypeError("the agent streamed something other than str chunks")
        return "".join(chunks)
    raise TypeError(f"the agent returned {type(result).__name__}, not str or an async iterator of str")
