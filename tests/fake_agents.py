"""Agent factories for tests: good ones, and each way a factory can fail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
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
