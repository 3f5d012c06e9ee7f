"""One request to an agent worker, as the server sees it: the replies buffered until they are read."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from registry_server.agents.worker_frames import Frame
from registry_server.domain.failure_text import AgentFailedError

# Past this many unread pieces, new text joins the last piece: memory stays bounded by the characters.
MAX_PENDING_PIECES = 64


class WorkerCall:
    """Buffers a request's chunks (never more than `max_chars` in all), then its end."""

    def __init__(self, request_id: int, max_chars: int) -> None:
        self.request_id = request_id
        self._max_chars = max_chars
        self._received = 0
        self._pending: deque[str] = deque()
        self._error: BaseException | None = None
        self.finished = False
        self._wake = asyncio.Event()

    def deliver(self, frame: Frame) -> None:
        """Takes one reply frame of the worker."""
        if self.finished:
            return
        if "chunk" in frame:
            self._take(str(frame["chunk"]))
        elif "error" in frame:
            self._finish(AgentFailedError(str(frame["error"]), str(frame.get("traceback") or "")))
        else:
            self._finish(None)

    def fail(self, error: BaseException) -> None:
        """Ends the call with `error` (the worker stopped)."""
        if not self.finished:
            self._finish(error)

    def _take(self, text: str) -> None:
        room = self._max_chars - self._received
        if room <= 0:
            return  # a worker never sends this much; what a misbehaving one sends beyond it is dropped
        text = text[:room]
        self._received += len(text)
        if len(self._pending) >= MAX_PENDING_PIECES:
            self._pending[-1] += text
        else:
            self._pending.append(text)
        self._wake.set()

    def _finish(self, error: BaseException | None) -> None:
        self._error = error
        self.finished = True
        self._wake.set()

    async def chunks(self) -> AsyncIterator[str]:
        """The text in the pieces it arrived in; raises the call's error at the end."""
        while True:
            if self._pending:
                yield self._pending.popleft()
                # Lets the other calls that got text in the same read go first: chunks of agents in one
                # worker then reach the caller in the order the worker sent them.
                await asyncio.sleep(0)
                continue
            if self.finished:
                if self._error is not None:
                    raise self._error
                return
            await self._wake.wait()
            self._wake.clear()

    async def outcome(self) -> None:
        """Waits for the end of the call; raises its error."""
        async for _ in self.chunks():
            pass
