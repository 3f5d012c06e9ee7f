"""Group commit: concurrent writes share one transaction, and one fsync, instead of paying one each."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiosqlite

from registry_server.domain.errors import RegistryError, StorageUnavailableError
from registry_server.metrics import record_commit_batch

log = logging.getLogger(__name__)

T = TypeVar("T")
# An operation runs inside the writer's transaction. It may raise a RegistryError only before it has
# changed anything, so that the other operations of its batch can still commit.
Operation = Callable[[aiosqlite.Connection], Awaitable[Any]]

LOCK_RETRY_DELAYS_S = (0.1, 0.2, 0.4)
UNAVAILABLE_MESSAGE = "Database temporarily unavailable; nothing was written, retry later"


def is_lock_error(error: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" / busy errors."""
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error).lower()


async def with_lock_retries(action: Callable[[], Awaitable[T]], delays: Sequence[float], what: str) -> T:
    """Runs `action`, retrying a locked database after each delay; then raises StorageUnavailableError."""
    for attempt, delay in enumerate((*delays, None), start=1):
        try:
            return await action()
        except sqlite3.OperationalError as error:
            if not is_lock_error(error):
                raise
            if delay is None:
                log.error("%s: database still locked after %d attempts", what, attempt)
                raise StorageUnavailableError(UNAVAILABLE_MESSAGE) from error
            log.warning("%s: database locked (attempt %d), retrying in %.0f ms", what, attempt, delay * 1000)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class GroupCommitWriter:
    """Runs every write through one connection; whatever queued up meanwhile commits together."""

    def __init__(
        self,
        connection: aiosqlite.Connection,
        retry_delays: Sequence[float] = LOCK_RETRY_DELAYS_S,
        max_batch: int = 512,
    ) -> None:
        self._connection = connection
        self._retry_delays = tuple(retry_delays)
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Operation, asyncio.Future[Any]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0
        self.writes = 0

    def start(self) -> None:
        """Starts the writer task."""
        self._task = asyncio.create_task(self._run(), name="session-writer")

    async def submit(self, operation: Operation) -> Any:
        """Queues `operation` and returns its result once its transaction is durably committed."""
        if self._task is None or self._task.done():
            raise StorageUnavailableError("the session store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((operation, future))
        return await future

    async def close(self) -> None:
        """Commits what is queued, then stops the writer."""
        if self._task is not None and not self._task.done():
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            stop = item is None
            batch = [item] if item is not None else []
            while len(batch) < self._max_batch and not self._queue.empty():
                queued = self._queue.get_nowait()
                if queued is None:
                    stop = True
                    break
                batch.append(queued)
            live = [(operation, future) for operation, future in batch if not future.cancelled()]
            if live:
                await self._commit(live)
            if stop:
                return

    async def _commit(self, batch: list[tuple[Operation, asyncio.Future[Any]]]) -> None:
        record_commit_batch("sessions", len(batch))
        try:
            outcomes = await with_lock_retries(
                lambda: self._transaction(batch), self._retry_delays, "session write"
            )
        except StorageUnavailableError as error:
            for _, future in batch:
                _settle(future, error=error)
            return
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            # Isolate the failing operation so the others of its batch still commit.
            for one in batch:
                await self._commit([one])
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            _settle(future, result=value) if ok else _settle(future, error=value)

    async def _transaction(
        self, batch: list[tuple[Operation, asyncio.Future[Any]]]
    ) -> list[tuple[bool, Any]]:
        connection = self._connection
        await connection.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[tuple[bool, Any]] = []
            for operation, _ in batch:
                try:
                    outcomes.append((True, await operation(connection)))
                except RegistryError as error:
                    outcomes.append((False, error))
            await connection.execute("COMMIT")
            self.transactions += 1
            self.writes += len(batch)
        except BaseException:
            if connection.in_transaction:
                await connection.execute("ROLLBACK")
            raise
        return outcomes


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
