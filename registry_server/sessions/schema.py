"""The session database schema, versioned with PRAGMA user_version and migrated forward only."""

from __future__ import annotations

import logging

import aiosqlite

log = logging.getLogger(__name__)

# MIGRATIONS[i] moves the schema from version i to version i + 1. Never edit a released entry: append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED', 'ABANDONED')),
        metadata TEXT NOT NULL DEFAULT '{}',
        create_time INTEGER NOT NULL,
        update_time INTEGER NOT NULL,
        last_agent_called TEXT NOT NULL DEFAULT '',
        last_query TEXT NOT NULL DEFAULT '',
        last_response TEXT NOT NULL DEFAULT '',
        history_count INTEGER NOT NULL DEFAULT 0,
        invocation_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_by_user_time ON sessions (user_id, create_time DESC, session_id DESC);
    CREATE INDEX sessions_by_time ON sessions (create_time DESC, session_id DESC);
    CREATE INDEX sessions_by_status_update ON sessions (status, update_time);
    CREATE TABLE history (
        session_id TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
        content TEXT NOT NULL,
        agent_name TEXT NOT NULL DEFAULT '',
        create_time INTEGER NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE invocations (
        session_id TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        agent_name TEXT NOT NULL,
        query TEXT NOT NULL,
        response TEXT NOT NULL,
        success INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        error TEXT NOT NULL,
        create_time INTEGER NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX invocations_by_time ON invocations (create_time);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(Exception):
    """The database was written by a newer version of the service; refuse rather than damage it."""


async def migrate(connection: aiosqlite.Connection) -> int:
    """Applies the missing migrations, each in its own transaction; returns the resulting version."""
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"sessions.db has schema version {version}, newer than this server's {SCHEMA_VERSION}; "
            "upgrade the server"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        # executescript commits first, so the migration and its version bump form one transaction.
        await connection.executescript(
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[target - 1]}\nPRAGMA user_version = {target};\nCOMMIT;"
        )
        log.info("migrated sessions.db to schema version %d", target)
    return SCHEMA_VERSION
