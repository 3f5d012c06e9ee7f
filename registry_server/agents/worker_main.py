"""An agent worker process: builds and runs agents for the server, which never imports agent code.

Started by the server as `python -m registry_server.agents.worker_main --fd N --agent-modules ...`;
it speaks length-prefixed JSON frames on the socket N (agents may print: stdout goes to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import traceback

from registry_server.agents.local_agents import build_local_agent
from registry_server.agents.module_allowlist import ModuleAllowlist
from registry_server.agents.output_cap import WORKER_MARGIN_BYTES, OutputCap
from registry_server.agents.session_access import SESSIONS_OPERATION, SessionAccess
from registry_server.agents.worker_frames import Frame, encode_frame, factory_from_frame, read_frame
from registry_server.domain.agent import FactoryRef
from registry_server.domain.errors import FactoryError
from registry_server.domain.failure_text import (
    MAX_LOGGED_TRACEBACK_CHARS,
    AgentFailedError,
    describe_exception,
)
from registry_server.registry.agent_protocol import RunnableAgent, answer_chunks

log = logging.getLogger("registry_server.agent_worker")
# Long chunks go out in pieces, so that no frame comes near the frame size limit.
MAX_CHUNK_CHARS = 64 * 1024


class AgentWorker:
    """Serves one connection from the server: build, run, cancel and forget requests."""

    def __init__(self, writer: asyncio.StreamWriter, allowlist: ModuleAllowlist) -> None:
        self._writer = writer
        self._allowlist = allowlist
        self._agents: dict[str, RunnableAgent] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._sessions: SessionAccess | None = None

    async def serve(self, reader: asyncio.StreamReader) -> None:
        """Handles frames until the server closes the socket."""
        while (frame := await read_frame(reader)) is not None:
            operation = frame.get("op")
            if operation == "cancel":
                task = self._tasks.get(int(frame["id"]))
                if task is not None:
                    task.cancel()
            elif operation == SESSIONS_OPERATION:
                self._sessions = SessionAccess.from_frame(frame)
            elif operation == "forget":
                self._agents.pop(str(frame["agent"]), None)
            elif operation in ("build", "run"):
                handler = self._build if operation == "build" else self._run
                request_id = int(frame["id"])
                task = asyncio.create_task(handler(request_id, frame))
                self._tasks[request_id] = task
                task.add_done_callback(functools.partial(self._forget_task, request_id))
        for task in list(self._tasks.values()):
            task.cancel()

    def _forget_task(self, request_id: int, _: asyncio.Task[None]) -> None:
        self._tasks.pop(request_id, None)

    async def _build(self, request_id: int, frame: Frame) -> None:
        try:
            await self._agent(str(frame["agent"]), factory_from_frame(frame["factory"]), frame)
        except FactoryError as exc:
            await self._send({"id": request_id, "error": exc.cause})
            return
        await self._send({"id": request_id, "done": True})

    async def _run(self, request_id: int, frame: Frame) -> None:
        try:
            agent = await self._agent(str(frame["agent"]), factory_from_frame(frame["factory"]), frame)
            cap = OutputCap(int(frame["limit"]) + WORKER_MARGIN_BYTES)
            chunks = answer_chunks(agent, str(frame["query"]), dict(frame.get("context") or {}))
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    kept = cap.take(chunk)
                    for start in range(0, len(kept), MAX_CHUNK_CHARS):
                        await self._send({"id": request_id, "chunk": kept[start : start + MAX_CHUNK_CHARS]})
                    if cap.full:
                        break
        except asyncio.CancelledError:
            if _being_cancelled():
                return  # the server gave up on this call; it expects nothing more
            await self._fail(request_id, asyncio.CancelledError("the agent cancelled itself"))
            return
        except FactoryError as exc:
            await self._send({"id": request_id, "error": f"the agent could not be built: {exc.cause}"})
            return
        except BaseException as exc:  # agent code: SystemExit and the like are its own failure
            await self._fail(request_id, exc)
            return
        await self._send({"id": request_id, "done": True})

    async def _agent(self, key: str, factory: FactoryRef, frame: Frame) -> RunnableAgent:
        """The agent built for `key`, built now when this worker has not built it yet."""
        agent = self._agents.get(key)
        if agent is None or frame.get("op") == "build":
            self._allowlist.check(factory)
            agent = await build_local_agent(
                factory, reimport=bool(frame.get("reimport")), sessions=self._sessions
            )
            self._agents[key] = agent
        return agent

    async def _fail(self, request_id: int, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, AgentFailedError) else describe_exception(exc)
        details = "".join(traceback.format_exception(exc))[-MAX_LOGGED_TRACEBACK_CHARS:]
        await self._send({"id": request_id, "error": message, "traceback": details})

    async def _send(self, frame: Frame) -> None:
        self._writer.write(encode_frame(frame))
        await self._writer.drain()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _serve(fd: int, allowlist: ModuleAllowlist) -> None:
    connection = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=connection, limit=1 << 20)
    try:
        await AgentWorker(writer, allowlist).serve(reader)
    finally:
        writer.close()
    # The server is gone: exit now rather than wait for threads that agent code may have left blocked.
    logging.shutdown()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Runs the worker until the server closes its socket."""
    parser = argparse.ArgumentParser(prog="python -m registry_server.agents.worker_main")
    parser.add_argument("--fd", type=int, required=True, help="the socket shared with the server")
    parser.add_argument("--agent-modules", default="", help="comma-separated allowed module prefixes")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what agents print must not reach the socket
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s %(levelname)s agent-worker[{os.getpid()}]: %(message)s"
    )
    allowlist = ModuleAllowlist(args.agent_modules.split(","))
    asyncio.run(_serve(args.fd, allowlist))


if __name__ == "__main__":
    main()
