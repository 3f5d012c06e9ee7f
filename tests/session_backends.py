"""The session store backends the conformance suites run against, and a clock tests can move."""

from __future__ import annotations

import atexit
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry_server.sessions.postgres_store import PostgresSessionStore
from registry_server.sessions.sqlite_store import SqliteSessionStore
from registry_server.sessions.store import SessionStore
from tests.postgres import PostgresServer, start_postgres


@dataclass
class FakeClock:
    """A clock that only moves when told, one microsecond per reading so times stay distinct."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def open_sqlite(directory: Path, clock: FakeClock) -> SessionStore:
    return await SqliteSessionStore(directory / "sessions.db", clock=clock).open()


_postgres: list[PostgresServer] = []


def shared_postgres() -> PostgresServer:
    """One PostgreSQL server for every PostgreSQL-backed test of this run (skipped when not installed)."""
    if not _postgres:
        server = start_postgres()
        atexit.register(server.destroy)
        _postgres.append(server)
    return _postgres[0]


async def open_postgres(directory: Path, clock: FakeClock) -> SessionStore:
    """A store on a fresh database; the same directory reopens the same database (for restart tests)."""
    marker = directory / "postgres-database-url"
    if marker.exists():
        url = marker.read_text()
    else:
        url = shared_postgres().create_database()
        marker.write_text(url)
    return await PostgresSessionStore(url, clock=clock).open()


BACKENDS: dict[str, Callable[[Path, FakeClock], Awaitable[SessionStore]]] = {
    "sqlite": open_sqlite,
    "postgresql": open_postgres,
}
