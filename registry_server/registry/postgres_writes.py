"""The SQL of a registry commit: revisions taken under the row lock, one conditional write per mutation."""

from __future__ import annotations

from registry_server.postgres.database import Connection
from registry_server.registry.document import encode_record
from registry_server.registry.store import Change, DeleteAgent, StoreConflictError

# Locks the revision row until commit, reserves $1 revisions, returns the previous one and NOTIFYs the
# new one (delivered at commit, never on rollback).
TAKE_REVISIONS = (
    "UPDATE registry_state SET revision = revision + $1 "
    "RETURNING revision - $1 AS previous, compacted_through, pg_notify($2, revision::text)"
)
INSERT_LOGGED = """
WITH written AS (
    INSERT INTO agents (name, record, etag, revision) VALUES ($1, $2, $3, $4)
    ON CONFLICT (name) DO NOTHING RETURNING name
)
INSERT INTO agent_changes
    (revision, change_last, kind, name, record, etag, request_id, request_fingerprint, origin)
SELECT $4, $5, 'PUT', name, $2, $3, $6, $7, $8 FROM written
"""
UPDATE_LOGGED = """
WITH written AS (
    UPDATE agents SET record = $2, etag = $3, revision = $4 WHERE name = $1 AND etag = $9 RETURNING name
)
INSERT INTO agent_changes
    (revision, change_last, kind, name, record, etag, request_id, request_fingerprint, origin)
SELECT $4, $5, 'PUT', name, $2, $3, $6, $7, $8 FROM written
"""
DELETE_LOGGED = """
WITH written AS (DELETE FROM agents WHERE name = $1 AND etag = $2 RETURNING name)
INSERT INTO agent_changes
    (revision, change_last, kind, name, record, etag, request_id, request_fingerprint, origin)
SELECT $3, $4, 'DELETE', name, NULL, NULL, $5, $6, $7 FROM written
"""
# Run under the revision row lock: drops the change records at or before $1 and remembers the mark.
COMPACT = """
WITH dropped AS (DELETE FROM agent_changes WHERE revision <= $1)
UPDATE registry_state SET compacted_through = $1
"""


async def write_change(connection: Connection, change: Change, current: int, origin: str) -> int:
    """Applies each mutation with its etag condition and logs it; returns the last revision used.

    One statement per mutation: the conditional write and its change record, in a CTE, so a write
    that matched nothing logs nothing and reports the conflict.
    """
    last = current + len(change.mutations)
    context = (last, change.request_id, change.request_fingerprint, origin)
    for revision, mutation in enumerate(change.mutations, start=current + 1):
        if isinstance(mutation, DeleteAgent):
            name, expected = mutation.name, mutation.expected_etag
            status = await connection.execute(DELETE_LOGGED, name, expected, revision, *context)
        elif mutation.expected_etag is None:
            name, expected = mutation.spec.name, None
            record = encode_record(mutation.spec)
            status = await connection.execute(INSERT_LOGGED, name, record, mutation.etag, revision, *context)
        else:
            name, expected = mutation.spec.name, mutation.expected_etag
            record = encode_record(mutation.spec)
            status = await connection.execute(
                UPDATE_LOGGED, name, record, mutation.etag, revision, *context, expected
            )
        if status.endswith(" 0"):
            raise StoreConflictError(name, current, _conflict_message(name, expected))
    return last


def _conflict_message(name: str, expected_etag: str | None) -> str:
    if expected_etag is None:
        return f"an agent named {name!r} was registered meanwhile"
    return (
        f"agent {name!r} changed since etag {expected_etag!r} was read (or was deleted); "
        "get it again and retry"
    )
