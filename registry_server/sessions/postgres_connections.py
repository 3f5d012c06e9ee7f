"""The PostgreSQL session store's pool, its read transactions and its group-commit writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import asyncpg

from registry_server.domain.clock import Clock, utc_now
from registry_server.sessions.postgres_request_log import once
from registry_server.sessions.postgres_schema import migrate
from registry_server.sessions.postgres_writer import (
    UNAVAILABLE_ERRORS,
    PostgresGroupCommitWriter,
    unavailable,
)
from registry_server.sessions.sqlite_rows import to_micros


class PostgresConnections:
    """Runs reads in read-only snapshot transactions and writes through the group-commit writer."""

    def __init__(self, url: str, *, clock: Clock = utc_now, pool_size: int = 10) -> None:
        self._url = url
        self._clock = clock
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._writer: PostgresGroupCommitWriter | None = None

    async def open(self) -> Self:
        """Connects, migrates the session tables and starts the writer."""
        try:
            self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self._pool_size)
            async with self._pool.acquire() as connection:
                await migrate(connection)
        except UNAVAILABLE_ERRORS as error:
            raise unavailable(error) from error
        self._writer = PostgresGroupCommitWriter(self._pool)
        self._writer.start()
        return self

    async def close(self) -> None:
        """Commits pending writes, then closes the pool."""
        if self._writer is not None:
            await self._writer.close()
        if self._pool is not None:
            await self._pool.close()
        self._pool = None

    @property
    def commit_counts(self) -> tuple[int, int]:
        """(transactions committed, writes they carried)."""
        return (self._writer.transactions, self._writer.writes) if self._writer else (0, 0)

    async def _read(self, query: Callable[[Any], Any]) -> Any:
        if self._pool is None:
            raise RuntimeError("the session store is not open")
        try:
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await query(connection)
        except UNAVAILABLE_ERRORS as error:
            raise unavailable(error) from error

    async def _write(
        self, operation: Callable[[Any], Any], request_id: str = "", request_fingerprint: str = ""
    ) -> Any:
        if self._writer is None:
            raise RuntimeError("the session store is not open")
        now = to_micros(self._clock())
        return await self._writer.submit(
            lambda connection: once(connection, request_id, request_fingerprint, now, operation)
        )
