"""The session tables on PostgreSQL, migrated forward only and recorded in `schema_version` (component
"sessions"), the table every PostgreSQL component of the service shares."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

COMPONENT = "sessions"
# Serialises migrations of every component across instances (the same key for all of them).
MIGRATION_LOCK_KEY = 0x5245_4749_5354_5259

CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component text NOT NULL,
    version integer NOT NULL,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""

# MIGRATIONS[i] moves the schema from version i to i + 1. Never edit a released entry: append.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "sessions keyed by app, user and id; events; state in three scopes; request ids",
        """
        CREATE TABLE sessions (
            sid bigserial PRIMARY KEY,
            app_name text NOT NULL,
            user_id text NOT NULL,
            session_id text NOT NULL,
            status text NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED', 'ABANDONED')),
            metadata text NOT NULL DEFAULT '{}',
            create_time bigint NOT NULL,
            update_time bigint NOT NULL,
            last_agent_called text NOT NULL DEFAULT '',
            last_query text NOT NULL DEFAULT '',
            last_response text NOT NULL DEFAULT '',
            history_count bigint NOT NULL DEFAULT 0,
            invocation_count bigint NOT NULL DEFAULT 0,
            event_count bigint NOT NULL DEFAULT 0,
            revision bigint NOT NULL DEFAULT 1,
            UNIQUE (app_name, user_id, session_id)
        );
        CREATE INDEX sessions_by_id ON sessions (session_id);
        CREATE INDEX sessions_by_user_create ON sessions (user_id, create_time, session_id);
        CREATE INDEX sessions_by_user_update ON sessions (user_id, update_time, session_id);
        CREATE INDEX sessions_by_app_update ON sessions (app_name, update_time, session_id);
        CREATE INDEX sessions_by_create ON sessions (create_time, session_id);
        CREATE INDEX sessions_by_update ON sessions (update_time, session_id);
        CREATE INDEX sessions_by_status_update ON sessions (status, update_time);
        CREATE TABLE session_history (
            sid bigint NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
            seq bigint NOT NULL,
            role text NOT NULL CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
            content text NOT NULL,
            agent_name text NOT NULL DEFAULT '',
            create_time bigint NOT NULL,
            PRIMARY KEY (sid, seq)
        );
        CREATE TABLE session_invocations (
            sid bigint NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
            seq bigint NOT NULL,
            agent_name text NOT NULL,
            query text NOT NULL,
            response text NOT NULL,
            success integer NOT NULL,
            duration_ms bigint NOT NULL,
            error text NOT NULL,
            create_time bigint NOT NULL,
            PRIMARY KEY (sid, seq)
        );
        CREATE INDEX session_invocations_by_time ON session_invocations (create_time);
        CREATE TABLE session_events (
            sid bigint NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
            seq bigint NOT NULL,
            timestamp double precision NOT NULL,
            body text NOT NULL,
            PRIMARY KEY (sid, seq)
        );
        CREATE INDEX session_events_by_time ON session_events (sid, timestamp);
        CREATE TABLE session_state (
            sid bigint PRIMARY KEY REFERENCES sessions (sid) ON DELETE CASCADE,
            state text NOT NULL
        );
        CREATE TABLE session_user_state (
            app_name text NOT NULL,
            user_id text NOT NULL,
            state text NOT NULL,
            PRIMARY KEY (app_name, user_id)
        );
        CREATE TABLE session_app_state (
            app_name text PRIMARY KEY,
            state text NOT NULL
        );
        CREATE TABLE session_request_log (
            request_id text PRIMARY KEY,
            fingerprint text NOT NULL,
            result text NOT NULL,
            create_time bigint NOT NULL
        );
        CREATE INDEX session_request_log_by_time ON session_request_log (create_time);
        """,
    ),
)


class SchemaTooNewError(Exception):
    """The database's session schema was written by a newer server; refuse rather than damage it."""


async def migrate(connection: Any) -> int:
    """Applies the missing session migrations in one transaction under the shared advisory lock."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(CREATE_VERSION_TABLE)
        current = int(
            await connection.fetchval(
                "SELECT coalesce(max(version), 0) FROM schema_version WHERE component = $1", COMPONENT
            )
        )
        if current > len(MIGRATIONS):
            raise SchemaTooNewError(
                f"the database's session schema is version {current}, newer than this server's "
                f"{len(MIGRATIONS)}; upgrade the server"
            )
        for version, (description, sql) in enumerate(MIGRATIONS[current:], start=current + 1):
            await connection.execute(sql)
            await connection.execute(
                "INSERT INTO schema_version (component, version, description) VALUES ($1, $2, $3)",
                COMPONENT,
                version,
                description,
            )
            log.info("applied session schema migration %d: %s", version, description)
    return len(MIGRATIONS)
