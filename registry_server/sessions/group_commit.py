"""Group commit: concurrent writes share one transaction, and one fsync, instead of paying one each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from registry_server.domain.errors import RegistryError, StorageUnavailableError
from registry_server.metrics import record_commit_batch
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


def retry_locked(action: Callable[[], T], delays: Sequence[float], what: str) -> T:
    """with_lock_retries() for a thread that may block: runs `action`, sleeping between attempts."""
    for attempt, delay in enumerate((*delays, None), start=1):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_lock_error(error):
                raise
            if delay is None:
                log.error("%s: database still locked after %d attempts", what, attempt)
                raise StorageUnavailableError(UNAVAILABLE_MESSAGE) from error
            log.warning("%s: database locked (attempt %d), retrying in %.0f ms", what, attempt, delay * 1000)
            time.sleep(delay)
    raise AssertionError("unreachable")


Queued = tuple[Operation, asyncio.Future[Any]]
Outcomes = list[tuple[bool, Any]]


class GroupCommitWriter:
    """Runs every write on one connection in its own thread; whatever queued up meanwhile commits together.

    The thread takes the next batch as soon as the last one is committed: a batch costs one hop to the
    thread (none when writes are already waiting), one hop back to the event loop, and one fsync.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        retry_delays: Sequence[float] = LOCK_RETRY_DELAYS_S,
        max_batch: int = 512,
        marks: HighWaterMarks | None = None,
    ) -> None:
        self._connection = connection
        self._marks = marks
        self._retry_delays = tuple(retry_delays)
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Queued | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open = False
        self.transactions = 0
        self.writes = 0

    def start(self) -> None:
        """Starts the writer thread (from the event loop its writes are submitted on)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._open = True
        self._thread.start()

    async def submit(self, operation: Operation) -> Any:
        """Queues `operation` and returns its result once its transaction is durably committed."""
        if not self._open or self._loop is None:
            raise StorageUnavailableError("the session store is closed")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put((operation, future))
        return await future

    async def close(self) -> None:
        """Commits what is queued, then stops the writer."""
        if self._open and self._thread is not None:
            self._open = False
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
        if self._marks is not None:
            self._marks.close()

    def _run(self) -> None:
        """The writer thread: waits for writes, commits each batch of what has queued up, until close()."""
        while True:
            item = self._queue.get()
            stop = item is None
            batch = [item] if item is not None else []
            while len(batch) < self._max_batch:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:
                    stop = True
                    break
                batch.append(queued)
            live = [(operation, future) for operation, future in batch if not future.cancelled()]
            if live:
                self._commit_or_fail(live)
            if stop:
                return

    def _commit_or_fail(self, batch: list[Queued]) -> None:
        """Commits the batch; an unexpected error fails its writes instead of stopping the thread."""
        try:
            self._commit(batch)
        except Exception as error:
            log.exception("session writer failed on a batch of %d writes", len(batch))
            self._fail(batch, error)

    def _commit(self, batch: list[Queued]) -> None:
        record_commit_batch("sessions", len(batch))
        operations = [operation for operation, _ in batch]
        try:
            retry_locked(lambda: self._transaction(batch, operations), self._retry_delays, "session write")
        except StorageUnavailableError as error:
            self._fail(batch, error)
        except Exception as error:
            if is_storage_error(error):
                log.error(
                    "session write failed: %s; its batch of %d writes was rolled back", error, len(batch)
                )
                self._fail(batch, StorageUnavailableError(STORAGE_FULL_MESSAGE))
            elif len(batch) == 1:
                self._fail(batch, error)
            else:
                # Isolate the failing operation so the others of its batch still commit.
                for one in batch:
                    self._commit([one])

    def _transaction(self, batch: list[Queued], operations: list[Operation]) -> None:
        """BEGIN, every operation, COMMIT; then acknowledges the outcomes and makes the marks durable."""
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            outcomes: Outcomes = []
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
        self._record_marks(touched, lambda: self._to_loop(self._acknowledged, batch, outcomes))

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

    def _fail(self, batch: list[Queued], error: BaseException) -> None:
        self._to_loop(_fail_all, batch, error)

    def _to_loop(self, callback: Callable[..., None], *arguments: Any) -> None:
        """Runs `callback(*arguments)` on the event loop (not at all once the loop has closed)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for the result
                self._loop.call_soon_threadsafe(callback, *arguments)

    def _acknowledged(self, batch: list[Queued], outcomes: Outcomes) -> None:
        """Counts the committed batch and resolves each write's future with its result or its error."""
        self.transactions += 1
        self.writes += len(batch)
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            _settle(future, result=value) if ok else _settle(future, error=value)


def _fail_all(batch: list[Queued], error: BaseException) -> None:
    for _, future in batch:
        _settle(future, error=error)


def _log_marks_failure(marks: HighWaterMarks | None, error: OSError) -> None:
    name = marks.path.name if marks is not None else "-"
    log.error("could not record session high-water marks in %s: %s", name, error)


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
