"""SessionStore on SQLite: one group-committing writer connection and a small pool of readers (WAL)."""

from __future__ import annotations

from registry_server.sessions.sqlite_maintenance import SqliteSessionMaintenance
from registry_server.sessions.sqlite_reads import SqliteSessionReads
from registry_server.sessions.sqlite_writes import SqliteSessionWrites

SESSIONS_FILE_NAME = "sessions.db"


class SqliteSessionStore(SqliteSessionReads, SqliteSessionWrites, SqliteSessionMaintenance):
    """Sessions in `<data-dir>/sessions.db`. Writes are durable (WAL, synchronous=FULL) when they return."""
