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
    # Version 2: sessions keyed by (app_name, user_id, session_id) behind an integer key; ADK events; state
    # in three scopes; the idempotency log. Existing sessions move to app "default".
    """
    CREATE TABLE sessions_v2 (
        sid INTEGER PRIMARY KEY AUTOINCREMENT,
        app_name TEXT NOT NULL,
        user_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED', 'ABANDONED')),
        metadata TEXT NOT NULL DEFAULT '{}',
        create_time INTEGER NOT NULL,
        update_time INTEGER NOT NULL,
        last_agent_called TEXT NOT NULL DEFAULT '',
        last_query TEXT NOT NULL DEFAULT '',
        last_response TEXT NOT NULL DEFAULT '',
        history_count INTEGER NOT NULL DEFAULT 0,
        invocation_count INTEGER NOT NULL DEFAULT 0,
        event_count INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 1,
        UNIQUE (app_name, user_id, session_id)
    );
    INSERT INTO sessions_v2 (app_name, user_id, session_id, status, metadata, create_time, update_time,
        last_agent_called, last_query, last_response, history_count, invocation_count)
    SELECT 'default', user_id, session_id, status, metadata, create_time, update_time, last_agent_called,
        last_query, last_response, history_count, invocation_count FROM sessions;
    CREATE TABLE history_v2 (
        sid INTEGER NOT NULL REFERENCES sessions_v2 (sid) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
        content TEXT NOT NULL,
        agent_name TEXT NOT NULL DEFAULT '',
        create_time INTEGER NOT NULL,
        PRIMARY KEY (sid, seq)
    ) WITHOUT ROWID;
    INSERT INTO history_v2 SELECT s.sid, h.seq, h.role, h.content, h.agent_name, h.create_time
        FROM history h JOIN sessions_v2 s ON s.session_id = h.session_id;
    CREATE TABLE invocations_v2 (
        sid INTEGER NOT NULL REFERENCES sessions_v2 (sid) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        agent_name TEXT NOT NULL,
        query TEXT NOT NULL,
        response TEXT NOT NULL,
        success INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        error TEXT NOT NULL,
        create_time INTEGER NOT NULL,
        PRIMARY KEY (sid, seq)
    ) WITHOUT ROWID;
    INSERT INTO invocations_v2 SELECT s.sid, i.seq, i.agent_name, i.query, i.response, i.success,
        i.duration_ms, i.error, i.create_time
        FROM invocations i JOIN sessions_v2 s ON s.session_id = i.session_id;
    DROP TABLE history;
    DROP TABLE invocations;
    DROP TABLE sessions;
    ALTER TABLE sessions_v2 RENAME TO sessions;
    ALTER TABLE history_v2 RENAME TO history;
    ALTER TABLE invocations_v2 RENAME TO invocations;
    CREATE INDEX sessions_by_id ON sessions (session_id);
    CREATE INDEX sessions_by_user_create ON sessions (user_id, create_time, session_id);
    CREATE INDEX sessions_by_user_update ON sessions (user_id, update_time, session_id);
    CREATE INDEX sessions_by_app_update ON sessions (app_name, update_time, session_id);
    CREATE INDEX sessions_by_create ON sessions (create_time, session_id);
    CREATE INDEX sessions_by_update ON sessions (update_time, session_id);
    CREATE INDEX sessions_by_status_update ON sessions (status, update_time);
    CREATE INDEX invocations_by_time ON invocations (create_time);
    CREATE INDEX invocations_by_agent ON invocations (agent_name, duration_ms, success, create_time, sid);
    CREATE TABLE events (
        sid INTEGER NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (sid, seq)
    );
    CREATE INDEX events_by_time ON events (sid, timestamp);
    CREATE TABLE session_state (
        sid INTEGER PRIMARY KEY REFERENCES sessions (sid) ON DELETE CASCADE,
        state TEXT NOT NULL
    );
    CREATE TABLE user_state (
        app_name TEXT NOT NULL,
        user_id TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (app_name, user_id)
    );
    CREATE TABLE app_state (
        app_name TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE request_log (
        request_id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        result TEXT NOT NULL,
        create_time INTEGER NOT NULL
    );
    CREATE INDEX request_log_by_time ON request_log (create_time);
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
