"""Agent worker processes: the server sends them requests and never imports agent code itself.

Each worker is a `python -m registry_server.agents.worker_main` child on a socket pair. A worker that
exits is started again; the calls it was serving fail as their agents' failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import sys
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

from registry_server.agents.module_allowlist import ModuleAllowlist
from registry_server.agents.output_cap import WORKER_MARGIN_BYTES
from registry_server.agents.session_access import SessionAccess
from registry_server.agents.worker_calls import WorkerCall
from registry_server.agents.worker_frames import Frame, FrameError, encode_frame, factory_to_frame, read_frame
from registry_server.domain.agent import FactoryRef
from registry_server.domain.failure_text import AgentFailedError
from registry_server.registry.factories import FACTORY_TIMEOUT_S, factory_error

log = logging.getLogger(__name__)

WORKER_MODULE = "registry_server.agents.worker_main"
STOP_TIMEOUT_S = 5.0
MAX_RESTART_DELAY_S = 5.0


class _Slot:
    """One worker process and the calls it is serving; its process is replaced when it exits."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.calls: dict[int, WorkerCall] = {}
        self.ready = asyncio.Event()
        self.supervisor: asyncio.Task[None] | None = None
        self.restarts = 0

    def send(self, frame: Frame) -> None:
        """Queues a frame to the worker; a stopped worker drops it (its calls fail anyway)."""
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(encode_frame(frame))


class AgentWorkerPool:
    """`size` worker processes; each built agent lives in one of them, chosen in turn."""

    def __init__(
        self,
        size: int,
        allowlist: ModuleAllowlist,
        max_output_bytes: int,
        sessions: SessionAccess | None = None,
    ) -> None:
        self._slots = [_Slot(index) for index in range(size)]
        self._sessions = sessions
        self._allowlist = allowlist
        self._max_output_bytes = max_output_bytes
        self._next_slot = itertools.cycle(range(size))
        self._request_ids = itertools.count(1)
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Starts every worker and waits until each is connected."""
        self._loop = asyncio.get_running_loop()
        for slot in self._slots:
            slot.supervisor = asyncio.create_task(self._supervise(slot), name=f"agent-worker-{slot.index}")
        await asyncio.gather(*(slot.ready.wait() for slot in self._slots))

    async def stop(self) -> None:
        """Closes every worker's socket, waits for them to exit (killing the slow ones)."""
        self._stopping = True
        for slot in self._slots:
            if slot.writer is not None:
                slot.writer.close()
        supervisors = [slot.supervisor for slot in self._slots if slot.supervisor is not None]
        if not supervisors:
            return
        _, late = await asyncio.wait(supervisors, timeout=STOP_TIMEOUT_S + 1)
        for task in late:
            task.cancel()
        await asyncio.gather(*supervisors, return_exceptions=True)
        for slot in self._slots:
            if slot.process is not None and slot.process.returncode is None:
                slot.process.kill()

    @property
    def in_flight(self) -> int:
        """How many calls the workers are serving now."""
        return sum(len(slot.calls) for slot in self._slots)

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [slot.process.pid for slot in self._slots if slot.process is not None]

    async def build(self, factory: FactoryRef, *, reimport: bool = False) -> WorkerAgent:
        """Builds the agent in a worker (the check of what the factory returns happens there)."""
        slot = self._slots[next(self._next_slot)]
        key = uuid.uuid4().hex
        frame = {"op": "build", "agent": key, "factory": factory_to_frame(factory), "reimport": reimport}
        call: WorkerCall | None = None
        try:
            async with asyncio.timeout(FACTORY_TIMEOUT_S + 5):
                call = await self._open(slot, frame)
                await call.outcome()
        except AgentFailedError as exc:
            raise factory_error(factory, str(exc)) from None
        except TimeoutError:
            raise factory_error(factory, f"did not finish within {FACTORY_TIMEOUT_S:g} s") from None
        finally:
            if call is not None:
                self._close(slot, call)
        agent = WorkerAgent(self, slot.index, key, factory)
        weakref.finalize(agent, self._forget_soon, slot.index, key)
        return agent

    async def run(
        self, slot_index: int, key: str, factory: FactoryRef, query: str, context: Mapping[str, Any]
    ) -> AsyncIterator[str]:
        """The agent's answer as it streams from its worker; raises AgentFailedError when it fails."""
        slot = self._slots[slot_index]
        frame = {
            "op": "run",
            "agent": key,
            "factory": factory_to_frame(factory),
            "query": query,
            "context": dict(context),
            "limit": self._max_output_bytes,
        }
        call = await self._open(slot, frame)
        try:
            async for text in call.chunks():
                yield text
        finally:
            self._close(slot, call)

    async def _open(self, slot: _Slot, frame: Frame) -> WorkerCall:
        if self._stopping:
            raise AgentFailedError("the server is stopping")
        await slot.ready.wait()
        request_id = next(self._request_ids)
        call = WorkerCall(request_id, self._max_output_bytes + WORKER_MARGIN_BYTES)
        slot.calls[request_id] = call
        slot.send({**frame, "id": request_id})
        return call

    def _close(self, slot: _Slot, call: WorkerCall) -> None:
        """Forgets the call; one the worker is still serving is cancelled there."""
        slot.calls.pop(call.request_id, None)
        if not call.finished:
            call.fail(AgentFailedError("cancelled"))
            slot.send({"op": "cancel", "id": call.request_id})

    def _forget_soon(self, slot_index: int, key: str) -> None:
        """Called when an agent is garbage: its worker may drop its instance (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._slots[slot_index].send, {"op": "forget", "agent": key})

    async def _supervise(self, slot: _Slot) -> None:
        """Runs the slot's worker, and starts it again whenever it exits until the pool stops."""
        delay = 0.0
        while not self._stopping:
            started = time.monotonic()
            try:
                reader = await self._spawn(slot)
            except OSError as exc:
                log.error("cannot start agent worker %d: %s", slot.index, exc)
                reader = None
            if reader is not None:
                slot.ready.set()
                ending = await self._serve(slot, reader)
                slot.ready.clear()
                await self._reap(slot, ending)
            if self._stopping:
                break
            slot.restarts += 1
            delay = 0.0 if time.monotonic() - started > MAX_RESTART_DELAY_S else min(delay * 2 or 0.1, 5)
            await asyncio.sleep(delay)  # a worker that dies at once is not restarted in a tight loop

    async def _spawn(self, slot: _Slot) -> asyncio.StreamReader:
        parent, child = socket.socketpair()
        try:
            slot.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                WORKER_MODULE,
                "--fd",
                str(child.fileno()),
                "--agent-modules",
                ",".join(self._allowlist.prefixes),
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                env=_worker_environment(),
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        reader, slot.writer = await asyncio.open_connection(sock=parent)
        if self._sessions is not None:  # first on the wire: the secret never goes in argv or the environment
            slot.send(self._sessions.to_frame())
        log.info("agent worker %d started (pid %d)", slot.index, slot.process.pid)
        return reader

    async def _serve(self, slot: _Slot, reader: asyncio.StreamReader) -> str:
        """Hands each reply to its call until the worker's socket closes; returns why it ended."""
        try:
            while (frame := await read_frame(reader)) is not None:
                call = slot.calls.get(int(frame.get("id", 0)))
                if call is not None:
                    call.deliver(frame)
        except (FrameError, ValueError, TypeError) as exc:
            return f"it broke the protocol ({exc})"
        except OSError as exc:
            return f"its socket failed ({exc})"
        return "it exited"

    async def _reap(self, slot: _Slot, ending: str) -> None:
        """Stops the worker for good, then fails the calls it was serving."""
        process = slot.process
        if slot.writer is not None:
            slot.writer.close()
        if process is not None:
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
            ending = f"{ending}, {_exit_description(process.returncode)}"
        calls, slot.calls = slot.calls, {}
        if not self._stopping:
            log.error("agent worker %d stopped: %s; %d calls failed", slot.index, ending, len(calls))
        for call in calls.values():
            call.fail(AgentFailedError(f"the agent worker process stopped during the call: {ending}"))
        slot.process = slot.writer = None


class WorkerAgent:
    """An agent built in a worker process, as the invoker sees it."""

    def __init__(self, pool: AgentWorkerPool, slot_index: int, key: str, factory: FactoryRef) -> None:
        self._pool = pool
        self._slot_index = slot_index
        self._key = key
        self._factory = factory

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        """Streams the agent's answer from its worker."""
        async for text in self._pool.run(self._slot_index, self._key, self._factory, query, context):
            yield text


def _exit_description(code: int | None) -> str:
    if code is None:
        return "still running"
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _worker_environment() -> dict[str, str]:
    """The server's environment, with its module search path so workers import what it could."""
    paths = [os.path.abspath(path or os.curdir) for path in sys.path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}
