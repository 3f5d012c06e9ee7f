"""Chooses the session store: PostgreSQL when a database URL is configured, else SQLite in the data dir."""

from __future__ import annotations

from pathlib import Path

from registry_server.sessions.sqlite_store import SESSIONS_FILE_NAME, SqliteSessionStore
from registry_server.sessions.store import SessionStore


async def open_session_store(
    database_url: str, data_dir: Path, *, sqlite_busy_timeout_ms: int = 1000
) -> SessionStore:
    """The opened session store of this configuration."""
    if database_url:
        # Imported here: asyncpg costs start-up time that the embedded stores should not pay.
        from registry_server.sessions.postgres_store import PostgresSessionStore

        return await PostgresSessionStore(database_url).open()
    return await SqliteSessionStore(
        data_dir / SESSIONS_FILE_NAME, busy_timeout_ms=sqlite_busy_timeout_ms
    ).open()
