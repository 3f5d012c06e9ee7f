"""Runs the selected agents concurrently and yields each one's result as soon as it finishes."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from registry_server.domain.log_text import loggable
from registry_server.domain.routing import AgentResult
from registry_server.metrics import record_agent_invocation
from registry_server.tracing import agent_span

log = logging.getLogger(__name__)


async def invoke_all(
    agents: Sequence[tuple[str, object | None]], query: str, context: Mapping[str, Any], timeout_s: float
) -> AsyncIterator[AgentResult]:
    """One result per agent, in the order they finish; closing the iterator cancels agents still running."""
    tasks = [
        asyncio.create_task(_run_observed(name, agent, query, context, timeout_s)) for name, agent in agents
    ]
    try:
        for finished in asyncio.as_completed(tasks):
            yield await finished
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


async def _run_observed(
    name: str, agent: object | None, query: str, context: Mapping[str, Any], timeout_s: float
) -> AgentResult:
    """_run_one in a span, counted in the agent metrics; a failure is logged at WARNING naming the agent."""
    started = time.perf_counter()
    try:
        with agent_span(name):
            result = await _run_one(name, agent, query, context, timeout_s)
    except asyncio.CancelledError:
        record_agent_invocation(name, "cancelled", time.perf_counter() - started)
        raise
    record_agent_invocation(name, "success" if result.success else "error", time.perf_counter() - started)
    if not result.success:
        log.warning("agent %s failed: %s", loggable(name), loggable(result.error, 500))
    return result


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
