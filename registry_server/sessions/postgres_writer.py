"""Group commit on PostgreSQL: writes queued while a transaction commits share the next one.

Each write runs in its own savepoint, so one that fails (a missing session, a duplicate id) is rolled back
alone and the others of its batch still commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from registry_server.domain.errors import RegistryError, StorageUnavailableError
from registry_server.sessions.commit_queue import GroupCommitQueue, Outcome, Queued, fail_all

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


class PostgresGroupCommitWriter(GroupCommitQueue[Operation]):
    """Runs every write of this instance through a queue; whatever queued up meanwhile commits together."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256) -> None:
        super().__init__(max_batch, task_name="session-writer-postgres")
        self._pool = pool

    async def _commit(self, batch: list[Queued[Operation]]) -> None:
        outcomes: list[Outcome] = []
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                for operation, _ in batch:
                    outcomes.append(await _in_savepoint(connection, operation))
        except UNAVAILABLE_ERRORS as error:
            log.warning("session write failed, its batch of %d was rolled back: %s", len(batch), error)
            fail_all(batch, unavailable(error))
            return
        except Exception as error:
            log.exception("session write batch failed")
            fail_all(batch, error)
            return
        self._committed(batch, outcomes)


async def _in_savepoint(connection: Any, operation: Operation) -> Outcome:
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
