"""Runs the selected agents concurrently: their chunks as they come, then each one's capped result.

Agents write into one bounded queue that the RPC drains, so a caller that stops reading holds up the
agents (backpressure) instead of growing memory; closing the iterator cancels the agents still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry_server.agents.output_cap import DEFAULT_MAX_OUTPUT_BYTES, OutputCap
from registry_server.domain.failure_text import AgentFailedError, describe_exception, escaped_for_log
from registry_server.domain.routing import AgentChunk, AgentResult
from registry_server.metrics import record_agent_invocation
from registry_server.registry.agent_protocol import RunnableAgent, answer_chunks
from registry_server.tracing import agent_span

log = logging.getLogger(__name__)

InvocationEvent = AgentChunk | AgentResult
DEFAULT_QUEUED_EVENTS = 16


@dataclass(frozen=True)
class InvocationLimits:
    """Each agent's deadline and answer cap, and how many events may wait for a slow caller."""

    timeout_s: float = 30.0
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    queued_events: int = DEFAULT_QUEUED_EVENTS


async def invoke_all(
    agents: Sequence[tuple[str, object | None]],
    query: str,
    context: Mapping[str, Any],
    limits: InvocationLimits,
) -> AsyncIterator[InvocationEvent]:
    """Chunks as agents produce them, and one result per agent as each ends (after its chunks)."""
    queue: asyncio.Queue[InvocationEvent] = asyncio.Queue(maxsize=limits.queued_events)
    tasks = [
        asyncio.create_task(_AgentRun(name, limits, queue.put).run(agent, query, context))
        for name, agent in agents
    ]
    try:
        remaining = len(tasks)
        while remaining:
            event = await queue.get()
            if isinstance(event, AgentResult):
                remaining -= 1
            yield event
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


class _AgentRun:
    """One agent's part of a turn: its chunks go to `emit`, and whatever it does ends as its result."""

    def __init__(
        self, name: str, limits: InvocationLimits, emit: Callable[[InvocationEvent], Awaitable[None]]
    ) -> None:
        self._name = name
        self._limits = limits
        self._emit = emit
        self._cap = OutputCap(limits.max_output_bytes)
        self._answer: list[str] = []
        self._started = time.perf_counter()

    async def run(self, agent: object | None, query: str, context: Mapping[str, Any]) -> None:
        """Runs the agent in a span of its own; a cancelled run is counted as such in the agent metrics."""
        try:
            with agent_span(self._name):
                await self._run(agent, query, context)
        except asyncio.CancelledError:
            record_agent_invocation(self._name, "cancelled", time.perf_counter() - self._started)
            raise

    async def _run(self, agent: object | None, query: str, context: Mapping[str, Any]) -> None:
        """Runs the agent and emits its result: agent code raising anything is its failure alone."""
        if agent is None:
            await self._emit(self._result("the agent is no longer registered or available"))
            return
        timeout_s = self._limits.timeout_s
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                try:
                    await self._stream(agent, query, context)  # type: ignore[arg-type]
                except TimeoutError:
                    if deadline.expired():
                        raise
                    raise AgentFailedError("TimeoutError raised by the agent") from None
        except TimeoutError:
            await self._emit(self._result(f"timed out after {timeout_s:g} s", outcome="timeout"))
            return
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            await self._emit(self._result("CancelledError: the agent cancelled itself"))
            return
        except AgentFailedError as error:
            _log_failure(self._name, error.details or str(error))
            await self._emit(self._result(str(error)))
            return
        except BaseException as error:  # agent code: SystemExit, KeyboardInterrupt and the like
            _log_failure(self._name, "".join(traceback.format_exception(error)))
            await self._emit(self._result(describe_exception(error)))
            return
        await self._emit(self._result())

    async def _stream(self, agent: RunnableAgent, query: str, context: Mapping[str, Any]) -> None:
        """Emits the agent's chunks until it ends or its answer reaches the cap (then it is stopped)."""
        # The agent learns its registry name: an ADK agent keys its sessions by it.
        chunks = answer_chunks(agent, query, {**context, "agent_name": self._name})
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                kept = self._cap.take(chunk)
                if self._cap.full:
                    kept += self._cap.note
                if kept:
                    self._answer.append(kept)
                    await self._emit(AgentChunk(self._name, kept))
                if self._cap.full:
                    log.warning("agent %s answered over %d bytes: cut", self._name, self._cap.limit_bytes)
                    return

    def _result(self, error: str = "", *, outcome: str = "") -> AgentResult:
        elapsed_s = time.perf_counter() - self._started
        record_agent_invocation(self._name, outcome or ("error" if error else "success"), elapsed_s)
        duration_ms = round(elapsed_s * 1000)
        response = "" if error else "".join(self._answer)
        return AgentResult(self._name, response, not error, duration_ms, error)


def _log_failure(name: str, details: str) -> None:
    log.warning("agent %s failed: %s", name, escaped_for_log(details))
