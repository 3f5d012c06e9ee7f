"""The registry's PostgreSQL schema, as forward-only numbered migrations (never edit one that shipped)."""

from __future__ import annotations

from registry_server.postgres.migrations import Migration

MIGRATIONS = (
    Migration(
        1,
        "agents, their change log and the registry revision",
        """
        CREATE TABLE registry_state (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            revision bigint NOT NULL DEFAULT 0,
            compacted_through bigint NOT NULL DEFAULT 0,
            seeded boolean NOT NULL DEFAULT false
        );
        INSERT INTO registry_state DEFAULT VALUES;
        CREATE TABLE agents (
            name text PRIMARY KEY,
            record text NOT NULL,
            etag text NOT NULL,
            revision bigint NOT NULL
        );
        CREATE TABLE agent_changes (
            revision bigint PRIMARY KEY,
            change_last bigint NOT NULL,
            kind text NOT NULL CHECK (kind IN ('PUT', 'DELETE')),
            name text NOT NULL,
            record text,
            etag text,
            request_id text NOT NULL DEFAULT '',
            request_fingerprint text NOT NULL DEFAULT '',
            origin text NOT NULL
        );
        CREATE INDEX agent_changes_request_id ON agent_changes (request_id) WHERE request_id <> '';
        """,
    ),
    Migration(
        2,
        "agent leases: a TTL and the deadline by which the agent must renew",
        """
        CREATE TABLE agent_leases (
            name text PRIMARY KEY,
            ttl_ms bigint NOT NULL CHECK (ttl_ms > 0),
            deadline timestamptz NOT NULL
        );
        """,
    ),
)
