"""The SQLite session store's connections: one group-committing writer and a small pool of readers (WAL)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import aiosqlite

from registry_server.domain.clock import Clock, utc_now
from registry_server.sessions.group_commit import (
    LOCK_RETRY_DELAYS_S,
    GroupCommitWriter,
    is_lock_error,
    with_lock_retries,
)
from registry_server.sessions.high_water import MARKS_SUFFIX, HighWaterMarks
from registry_server.sessions.marks_check import check_high_water_marks
from registry_server.sessions.request_log import once
from registry_server.sessions.schema import migrate
from registry_server.sessions.sqlite_open import (
    is_damage,
    looks_like_sqlite,
    open_failure,
    passes_quick_check,
    set_aside,
)
from registry_server.sessions.sqlite_rows import to_micros
from registry_server.sessions.touched import track_touched

log = logging.getLogger(__name__)


class SqliteConnections:
    """Opens `sessions.db` and runs reads on a reader pool and writes through the group-commit writer."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = 1000,
        retry_delays: Sequence[float] = LOCK_RETRY_DELAYS_S,
        readers: int = 2,
        clock: Clock = utc_now,
    ) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._retry_delays = tuple(retry_delays)
        self._reader_count = readers
        self._clock = clock
        self._writer_connection: sqlite3.Connection | None = None
        self._writer: GroupCommitWriter | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    async def open(self) -> Self:
        """Opens the connections, switches to WAL and brings the schema up to date.

        Only a file whose header or PRAGMA quick_check fails is kept aside as `sessions.db.corrupt-<time>`
        (with its -wal and -shm files) and replaced by an empty store; any other failure (a full disk, an
        I/O error, permissions) raises SessionStoreOpenError and leaves the file where it is.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not looks_like_sqlite(self.path):  # SQLite would treat a short file as empty and overwrite it
            self._set_aside("the file does not start with the SQLite header")
        try:
            connection = await self._open_writer()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and is_lock_error(error):
                raise
            if not is_damage(error) or await _quick_check_or_raise(self.path, error):
                raise open_failure(self.path, error) from error
            self._set_aside(f"{error}; PRAGMA quick_check failed")
            connection = await self._open_writer()
        marks = HighWaterMarks(self.path.with_name(self.path.name + MARKS_SUFFIX))
        try:
            await check_high_water_marks(connection, marks)
            self._writer_connection = await asyncio.to_thread(self._connect_writer)
        finally:
            await connection.close()
        self._writer = GroupCommitWriter(self._writer_connection, self._retry_delays, marks=marks)
        self._writer.start()
        for _ in range(self._reader_count):
            reader = await self._connect()
            await reader.execute("PRAGMA query_only=ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        return self

    def _set_aside(self, reason: str) -> None:
        kept = set_aside(self.path)
        log.error(
            "%s is not a readable SQLite database (%s); kept it as %s and started an empty session store",
            self.path.name,
            reason,
            kept.name,
        )

    @property
    def commit_counts(self) -> tuple[int, int]:
        """(transactions committed, writes they carried): how well group commit is batching."""
        return (self._writer.transactions, self._writer.writes) if self._writer else (0, 0)

    async def _open_writer(self) -> aiosqlite.Connection:
        connection = await self._connect()
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await with_lock_retries(lambda: migrate(connection), self._retry_delays, "schema migration")
            await connection.execute_fetchall("SELECT count(*) FROM sessions")
        except BaseException:
            await connection.close()
            raise
        return connection

    def _connect_writer(self) -> sqlite3.Connection:
        """The writer's own connection, used only from the writer thread (one batch at a time)."""
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in self._pragmas():
                connection.execute(pragma)
            track_touched(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _pragmas(self) -> tuple[str, ...]:
        return (
            f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
        )

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            for pragma in self._pragmas():
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def close(self) -> None:
        """Commits pending writes, then closes every connection."""
        if self._writer is not None:
            await self._writer.close()
        for reader in self._all_readers:
            await reader.close()
        if self._writer_connection is not None:
            await asyncio.to_thread(self._writer_connection.close)
        self._writer_connection, self._all_readers = None, []

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection inside one read transaction, so a multi-query read sees one snapshot."""
        connection = await self._readers.get()
        try:
            await connection.execute("BEGIN")
            try:
                yield connection
            finally:
                await connection.execute("COMMIT")
        finally:
            self._readers.put_nowait(connection)

    async def _read(self, query: Callable[[aiosqlite.Connection], Any], what: str) -> Any:
        async def attempt() -> Any:
            async with self._reading() as connection:
                return await query(connection)

        return await with_lock_retries(attempt, self._retry_delays, what)

    async def _write(
        self,
        operation: Callable[[sqlite3.Connection], Any],
        request_id: str = "",
        request_fingerprint: str = "",
    ) -> Any:
        if self._writer is None:
            raise RuntimeError("the session store is not open")
        now = to_micros(self._clock())
        return await self._writer.submit(
            lambda connection: once(connection, request_id, request_fingerprint, now, operation)
        )


async def _quick_check_or_raise(path: Path, error: BaseException) -> bool:
    """True when PRAGMA quick_check finds the file sound (so the open error was not damage)."""
    log.warning("opening %s failed (%s); running PRAGMA quick_check", path.name, error)
    return await passes_quick_check(path)
