"""Agents for the agent benchmarks: one that streams, one that blocks its event loop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any


class StreamingAgent:
    """Streams `chunks` short chunks at once."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        for index in range(self.chunks):
            yield f"chunk {index} "


class BlockingAgent:
    """Blocks its event loop for `seconds` with time.sleep, as careless agent code does."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        time.sleep(self.seconds)  # noqa: ASYNC251 - the point of this agent
        return "woke up"


def create_streaming_agent(chunks: int = 20) -> StreamingAgent:
    return StreamingAgent(chunks)


def create_blocking_agent(seconds: float = 5.0) -> BlockingAgent:
    return BlockingAgent(seconds)
