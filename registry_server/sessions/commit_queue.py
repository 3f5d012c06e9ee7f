"""The group-commit loop both session backends share: writes queued while one batch commits go in the next."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from registry_server.domain.errors import StorageUnavailableError

OperationT = TypeVar("OperationT")
# A queued write and the future its caller awaits.
Queued = tuple[OperationT, asyncio.Future[Any]]
# Per write of a batch: (True, result) or (False, the error it raised).
Outcome = tuple[bool, Any]


class GroupCommitQueue(ABC, Generic[OperationT]):
    """Queues writes and hands what queued up meanwhile to the backend's `_commit`, one batch at a time."""

    def __init__(self, max_batch: int, task_name: str) -> None:
        self._max_batch = max_batch
        self._task_name = task_name
        self._queue: asyncio.Queue[Queued[OperationT] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0
        self.writes = 0

    def start(self) -> None:
        """Starts the writer task."""
        self._task = asyncio.create_task(self._run(), name=self._task_name)

    async def submit(self, operation: OperationT) -> Any:
        """Queues `operation` and returns its result once its batch has committed."""
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

    @abstractmethod
    async def _commit(self, batch: list[Queued[OperationT]]) -> None:
        """Runs the batch's writes in one transaction and settles every write's future."""

    def _committed(self, batch: list[Queued[OperationT]], outcomes: list[Outcome]) -> None:
        """Counts a committed batch and gives each write its result or its own error."""
        self.transactions += 1
        self.writes += len(batch)
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            settle(future, result=value) if ok else settle(future, error=value)

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


def fail_all(batch: list[Queued[Any]], error: BaseException) -> None:
    """Gives every write of a batch that did not commit the same error."""
    for _, future in batch:
        settle(future, error=error)


def settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    """Completes the future with the error, else the result, unless its caller is gone."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
