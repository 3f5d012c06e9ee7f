"""Group commit for the PostgreSQL registry: changes arriving together share one transaction.

Commits are serialised by the revision row lock anyway, so while one transaction is in flight the next
changes queue, and then go together: each in its own savepoint (a conflict undoes that change alone,
revisions included, so they stay gap-free), one COMMIT and one WAL flush for all. Nobody's result is
given out before that COMMIT succeeds; if it fails, every change of the batch reports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from registry_server.domain.errors import RegistryError
from registry_server.postgres.database import Connection, unavailable_on_connection_loss
from registry_server.registry.store import Change

MAX_BATCH = 256

# Writes one change on a connection inside a transaction; returns (revision before, last revision).
CommitOne = Callable[[Connection, Change], Awaitable[tuple[int, int]]]
Outcome = tuple[int, int] | BaseException


class GroupCommitter:
    """Queues changes and commits them in batches, one transaction per batch."""

    def __init__(self, pool: asyncpg.Pool, commit_one: CommitOne) -> None:
        self._pool = pool
        self._commit_one = commit_one
        self._queue: list[tuple[Change, asyncio.Future[tuple[int, int]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def commit(self, change: Change) -> tuple[int, int]:
        """Commits the change durably; returns the revision before it and its last revision."""
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._queue.append((change, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="registry-group-commit")
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                outcomes = await self._commit_batch([change for change, _ in batch])
            except BaseException as error:  # a lost connection, or cancellation at shutdown
                outcomes = [error] * len(batch)
                if isinstance(error, asyncio.CancelledError):
                    _resolve(batch, outcomes)
                    raise
            _resolve(batch, outcomes)

    async def _commit_batch(self, changes: list[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with unavailable_on_connection_loss("committing registry changes"):
            async with self._pool.acquire() as connection, connection.transaction():
                if len(changes) == 1:  # nothing to isolate it from: save the savepoint's round trips
                    outcomes.append(await self._commit_one(connection, changes[0]))
                    return outcomes
                for change in changes:
                    try:
                        async with connection.transaction():  # a savepoint
                            outcomes.append(await self._commit_one(connection, change))
                    except RegistryError as error:  # a conflict or a repeated request id: this change only
                        outcomes.append(error)
        return outcomes


def _resolve(batch: list[tuple[Change, asyncio.Future[tuple[int, int]]]], outcomes: list[Outcome]) -> None:
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
