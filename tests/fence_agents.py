"""Agents that misbehave in each way the fence must contain, and agents that stream in lock-step."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

BLOCK_LIMIT_S = 30.0


class ExitingAgent:
    """Raises SystemExit, as a careless `sys.exit()` in agent code does."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        sys.exit(3)


class InterruptingAgent:
    """Raises KeyboardInterrupt."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        raise KeyboardInterrupt


class StubbornGenerator:
    """Streams, and keeps streaming when told to stop: misuses GeneratorExit."""

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        while True:
            try:
                yield "x" * 1024
            except GeneratorExit:
                yield "still here"


class BlockingAgent:
    """Blocks its event loop with time.sleep until `<marker>.release` exists (at most 30 s).

    Creates `<marker>.started` first, so the test knows the block has begun.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        Path(f"{self.marker}.started").touch()
        deadline = time.monotonic() + BLOCK_LIMIT_S
        while not Path(f"{self.marker}.release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # noqa: ASYNC251 - blocking on purpose: this is what the fence must survive
        return "unblocked"


class HugeAgent:
    """Answers with `size` bytes in one string."""

    def __init__(self, size: int) -> None:
        self.size = size

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        return "x" * self.size


class LongErrorAgent:
    """Raises an exception with a very long message."""

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        raise ValueError("bad " * 100_000)


class PidAgent:
    """With "wait" in the query, writes its process id to `<marker>.pid` and hangs; else answers with it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        if "wait" in query:
            Path(f"{self.marker}.pid").write_text(str(os.getpid()))
            await asyncio.Event().wait()
        return f"answered by process {os.getpid()}"


# Events shared by the lock-step agents of one process (one worker, or the server with 0 workers).
_STEPS: dict[str, asyncio.Event] = {}


def _step(name: str) -> asyncio.Event:
    return _STEPS.setdefault(name, asyncio.Event())


class LockStepAgent:
    """Streams `rounds` chunks, taking turns with its partner: the leader speaks first in each round."""

    def __init__(self, me: str, partner: str, leader: bool, rounds: int = 3) -> None:
        self.me = me
        self.partner = partner
        self.leader = leader
        self.rounds = rounds

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        for index in range(self.rounds):
            if not self.leader:
                await _step(f"{self.partner}{index}").wait()
            yield f"{self.me}{index} "
            _step(f"{self.me}{index}").set()
            if self.leader:
                await _step(f"{self.partner}{index}").wait()


class StreamThenHangAgent:
    """Streams one chunk, then hangs; creates `<marker>.cancelled` when it is cancelled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        try:
            yield "first chunk"
            await asyncio.Event().wait()
        finally:
            Path(f"{self.marker}.cancelled").touch()


def create_exiting_agent() -> ExitingAgent:
    return ExitingAgent()


def create_interrupting_agent() -> InterruptingAgent:
    return InterruptingAgent()


def create_stubborn_generator() -> StubbornGenerator:
    return StubbornGenerator()


def create_blocking_agent(marker: str) -> BlockingAgent:
    return BlockingAgent(marker)


def create_blocking_factory(marker: str) -> BlockingAgent:
    """A synchronous factory that blocks until released."""
    agent = BlockingAgent(marker)
    Path(f"{marker}.started").touch()
    deadline = time.monotonic() + BLOCK_LIMIT_S
    while not Path(f"{marker}.release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return agent


def create_exiting_factory() -> ExitingAgent:
    raise SystemExit("the factory exits")


def create_huge_agent(size: int) -> HugeAgent:
    return HugeAgent(size)


def create_long_error_agent() -> LongErrorAgent:
    return LongErrorAgent()


def create_pid_agent(marker: str) -> PidAgent:
    return PidAgent(marker)


def create_lock_step_agent(me: str, partner: str, leader: bool) -> LockStepAgent:
    return LockStepAgent(me, partner, leader)


def create_stream_then_hang_agent(marker: str) -> StreamThenHangAgent:
    return StreamThenHangAgent(marker)


class UnrelatedRun:
    """Has a run method with another signature, like ADK 2.x nodes' run(*, ctx, node_input)."""

    async def run(self, *, ctx: object, node_input: object) -> str:
        return "never"


def create_unrelated_run() -> UnrelatedRun:
    return UnrelatedRun()
