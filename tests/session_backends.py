"""The session store backends the conformance suite runs against, and a clock tests can move."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry_server.sessions.sqlite_store import SqliteSessionStore
from registry_server.sessions.store import SessionStore


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


# A second backend (e.g. PostgreSQL) joins the conformance suite by adding its opener here.
BACKENDS: dict[str, Callable[[Path, FakeClock], Awaitable[SessionStore]]] = {"sqlite": open_sqlite}
