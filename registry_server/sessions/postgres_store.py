"""SessionStore on PostgreSQL (asyncpg): the SQLite store's contract, shared by many instances.

Seqs and revisions are claimed by an UPDATE ... RETURNING on the session's row inside the write's own
transaction, so they stay gap-free across instances; request ids are claimed by a unique insert, so a retry
reaching another instance still applies once. Each instance group-commits its own writes.
"""

from __future__ import annotations

from registry_server.sessions.postgres_maintenance import PostgresSessionMaintenance
from registry_server.sessions.postgres_reads import PostgresSessionReads
from registry_server.sessions.postgres_writes import PostgresSessionWrites


class PostgresSessionStore(PostgresSessionReads, PostgresSessionWrites, PostgresSessionMaintenance):
    """Sessions in PostgreSQL; every write returns once its transaction has committed."""
