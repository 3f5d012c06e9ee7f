"""Group commit on PostgreSQL: writes queued while a transaction commits share the next one.

Each write runs in its own savepoint, so one that fails (a missing session, a duplicate id) is rolled back
alone and the others of its batch still commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from registry_server.domain.errors import RegistryError, StorageUnavailableError

log = logging.getLogger(__name__)

Operation = Callable[[Any], Awaitable[Any]]

# Errors that mean "the database cannot take writes now": nothing was committed, the caller may retry.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.InterfaceError,
)


def unavailable(error: BaseException) -> StorageUnavailableError:
    """The retryable error of a database that could not be reached or written."""
    if isinstance(error, asyncpg.exceptions.DiskFullError):
        return StorageUnavailableError("storage full: the session database could not be written; retry later")
    return StorageUnavailableError(
        f"the session database is unavailable ({type(error).__name__}); nothing was written, retry shortly"
    )


class PostgresGroupCommitWriter:
    """Runs every write of this instance through a queue; whatever queued up meanwhile commits together."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Operation, asyncio.Future[Any]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0
        self.writes = 0

    def start(self) -> None:
        """Starts the writer task."""
        self._task = asyncio.create_task(self._run(), name="session-writer-postgres")

    async def submit(self, operation: Operation) -> Any:
        """Queues `operation` and returns its result once its transaction has committed."""
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
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                for operation, _ in batch:
                    outcomes.append(await _in_savepoint(connection, operation))
            self.transactions += 1
            self.writes += len(batch)
        except UNAVAILABLE_ERRORS as error:
            log.warning("session write failed, its batch of %d was rolled back: %s", len(batch), error)
            for _, future in batch:
                _settle(future, error=unavailable(error))
            return
        except Exception as error:
            log.exception("session write batch failed")
            for _, future in batch:
                _settle(future, error=error)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            _settle(future, result=value) if ok else _settle(future, error=value)


async def _in_savepoint(connection: Any, operation: Operation) -> tuple[bool, Any]:
    """(True, result), or (False, error) with the operation's changes rolled back."""
    try:
        async with connection.transaction():
            return True, await operation(connection)
    except (
        RegistryError,
        asyncpg.exceptions.DataError,
        asyncpg.exceptions.IntegrityConstraintViolationError,
    ) as error:
        return False, error


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
