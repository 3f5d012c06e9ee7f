"""Agent factories for tests: good ones, and each way a factory can fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any


class EchoAgent:
    """Answers with its prefix and the query."""

    def __init__(self, prefix: str = "echo", repeat: int = 1) -> None:
        self.prefix = prefix
        self.repeat = repeat

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        return " ".join([f"{self.prefix}: {query}"] * self.repeat)


class StreamingAgent:
    """Answers in chunks."""

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        for word in query.split():
            yield word


class SyncRunAgent:
    """Has a run method, but not an async one."""

    def run(self, query: str, context: Mapping[str, Any]) -> str:
        return query


def create_echo_agent(prefix: str = "echo", repeat: int = 1) -> EchoAgent:
    return EchoAgent(prefix, repeat)


async def create_async_echo_agent(prefix: str = "async") -> EchoAgent:
    return EchoAgent(prefix)


def create_streaming_agent() -> StreamingAgent:
    return StreamingAgent()


def create_raising_agent() -> EchoAgent:
    raise RuntimeError("the agent's backend is down")


def create_object_without_run() -> object:
    return object()


def create_sync_run_agent() -> SyncRunAgent:
    return SyncRunAgent()


NOT_CALLABLE = 42


# Per-test coordination between agents and tests, keyed by a name the test chooses.
SIGNALS: dict[str, asyncio.Event] = {}


def signal(key: str) -> asyncio.Event:
    """The event called `key`, created on first use (in the running loop)."""
    return SIGNALS.setdefault(key, asyncio.Event())


class RendezvousAgent:
    """Announces itself, then waits for its partner: two of them finish only if they run at the same time."""

    def __init__(self, me: str, partner: str) -> None:
        self.me = me
        self.partner = partner

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        signal(self.me).set()
        await signal(self.partner).wait()
        return f"{self.me} met {self.partner}"


class HangingAgent:
    """Never answers; creates `<marker>.started` when it starts and `<marker>.cancelled` when cancelled.

    Files, because the agent may run in a worker process while the test watches from its own.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        Path(f"{self.marker}.started").touch()
        try:
            await asyncio.Event().wait()
        finally:
            Path(f"{self.marker}.cancelled").touch()
        return "unreachable"


class FailingAgent:
    """Raises when asked."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        raise ConnectionError("the tickets backend refused the connection")


class ContextEchoAgent:
    """Answers with the context it was given."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        return f"previous={context.get('previous_query')!r} last={context.get('last_agent')!r}"


def create_rendezvous_agent(me: str, partner: str) -> RendezvousAgent:
    return RendezvousAgent(me, partner)


def create_hanging_agent(marker: str) -> HangingAgent:
    return HangingAgent(marker)


def create_failing_agent() -> FailingAgent:
    return FailingAgent()


def create_context_echo_agent() -> ContextEchoAgent:
    return ContextEchoAgent()
