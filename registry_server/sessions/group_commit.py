"""Group commit: concurrent writes share one transaction, and one fsync, instead of paying one each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from registry_server.domain.errors import RegistryError, StorageUnavailableError
from registry_server.metrics import record_commit_batch
from registry_server.sessions.commit_queue import GroupCommitQueue, Outcome, Queued, fail_all, settle
from registry_server.sessions.high_water import HighWaterMarks, Marks
from registry_server.sessions.touched import take_touched

log = logging.getLogger(__name__)

T = TypeVar("T")
# An operation runs, in the writer thread, inside the writer's transaction. It may raise a RegistryError only
# before it has changed anything, so that the other operations of its batch can still commit.
Operation = Callable[[sqlite3.Connection], Any]

LOCK_RETRY_DELAYS_S = (0.1, 0.2, 0.4)
UNAVAILABLE_MESSAGE = "Database temporarily unavailable; nothing was written, retry later"


STORAGE_FULL_MESSAGE = (
    "storage full: the session database could not be written; nothing was written, retry later"
)
# SQLite's codes for a full disk or a failing write: the transaction was rolled back and can be retried.
STORAGE_ERROR_NAMES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def is_lock_error(error: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" / busy errors."""
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error).lower()


def is_storage_error(error: BaseException) -> bool:
    """True for a full disk or an I/O error: the write failed as a whole, through no fault of the request."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    return isinstance(error, sqlite3.DatabaseError) and name.startswith(STORAGE_ERROR_NAMES)


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


class GroupCommitWriter(GroupCommitQueue[Operation]):
    """Runs every write on one connection in one thread; whatever queued up meanwhile commits together.

    A batch costs one hop to the writer thread, however many statements its writes run, and one fsync.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        retry_delays: Sequence[float] = LOCK_RETRY_DELAYS_S,
        max_batch: int = 512,
        marks: HighWaterMarks | None = None,
    ) -> None:
        super().__init__(max_batch, task_name="session-writer")
        self._connection = connection
        self._marks = marks
        self._retry_delays = tuple(retry_delays)

    async def _commit(self, batch: list[Queued[Operation]]) -> None:
        record_commit_batch("sessions", len(batch))
        operations = [operation for operation, _ in batch]
        try:
            outcomes = await with_lock_retries(
                lambda: asyncio.to_thread(self._transaction, operations), self._retry_delays, "session write"
            )
        except StorageUnavailableError as error:
            fail_all(batch, error)
            return
        except Exception as error:
            if is_storage_error(error):
                log.error(
                    "session write failed: %s; its batch of %d writes was rolled back", error, len(batch)
                )
                fail_all(batch, StorageUnavailableError(STORAGE_FULL_MESSAGE))
                return
            if len(batch) == 1:
                settle(batch[0][1], error=error)
                return
            # Isolate the failing operation so the others of its batch still commit.
            for one in batch:
                await self._commit([one])
            return
        self._committed(batch, outcomes)

    def _transaction(self, operations: list[Operation]) -> list[Outcome]:
        """Runs in the writer thread: BEGIN, every operation, COMMIT (with the high-water marks)."""
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[Outcome] = []
            for operation in operations:
                try:
                    outcomes.append((True, operation(connection)))
                except RegistryError as error:
                    outcomes.append((False, error))
            self._commit_with_marks()
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.DatabaseError):
                    connection.execute("ROLLBACK")
            raise
        return outcomes

    def _commit_with_marks(self) -> None:
        """COMMIT, then append the touched sessions' counters to the high-water marks.

        In that order: a mark must never run ahead of a committed write, or a crash between the two would
        leave a mark for a write that was never stored, and the restart would skip its seq.
        """
        connection = self._connection
        touched = take_touched(connection) if self._marks is not None else []
        connection.execute("COMMIT")
        if touched and self._marks is not None:
            _append_marks(self._marks, touched)


def _append_marks(marks: HighWaterMarks, touched: list[tuple[int, Marks]]) -> None:
    """Appends the marks; a failure only weakens WAL-damage detection, so it is logged, not raised (the
    data itself is committed)."""
    try:
        marks.append(touched)
    except OSError as error:
        log.error("could not record session high-water marks in %s: %s", marks.path.name, error)
