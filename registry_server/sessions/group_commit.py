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

    A batch costs one hop to the writer thread, however many statements its writes run, and one fsync before
    its writes are acknowledged (the high-water marks' fsync follows the acknowledgement).
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
        loop = asyncio.get_running_loop()

        def acknowledge(outcomes: list[Outcome]) -> None:
            loop.call_soon_threadsafe(self._committed, batch, outcomes)

        try:
            await with_lock_retries(
                lambda: asyncio.to_thread(self._transaction, operations, acknowledge),
                self._retry_delays,
                "session write",
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

    def _transaction(self, operations: list[Operation], acknowledge: Callable[[list[Outcome]], None]) -> None:
        """Runs in the writer thread: BEGIN, every operation, COMMIT; then acknowledges the outcomes and
        makes the high-water marks durable."""
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[Outcome] = []
            for operation in operations:
                try:
                    outcomes.append((True, operation(connection)))
                except RegistryError as error:
                    outcomes.append((False, error))
            touched = take_touched(connection) if self._marks is not None else []
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.DatabaseError):
                    connection.execute("ROLLBACK")
            raise
        self._record_marks(touched, lambda: acknowledge(outcomes))

    def _record_marks(self, touched: list[tuple[int, Marks]], acknowledge: Callable[[], None]) -> None:
        """Appends the committed sessions' counters to the high-water marks, acknowledges, then syncs them.

        A mark is appended only after its COMMIT is durable: a mark ahead of a committed write would make a
        restart report a loss and skip the seq of a write that was never acknowledged. The records are
        written before the acknowledgement (so they survive a crash of the process) and synced after it, so
        a reply waits for one fsync (the WAL's), not two; the next batch commits only once they are synced.
        A failure only weakens WAL-damage detection, so it is logged, not raised (the data is committed).
        """
        marks = self._marks
        written = False
        try:
            written = marks is not None and marks.write(touched)
        except OSError as error:
            _log_marks_failure(marks, error)
        acknowledge()
        if not written or marks is None:
            return
        try:
            marks.sync()
        except OSError as error:
            _log_marks_failure(marks, error)

    async def close(self) -> None:
        """Commits what is queued, stops the writer, and releases the marks file."""
        await super().close()
        if self._marks is not None:
            self._marks.close()


def _log_marks_failure(marks: HighWaterMarks | None, error: OSError) -> None:
    name = marks.path.name if marks is not None else "-"
    log.error("could not record session high-water marks in %s: %s", name, error)
