"""Agent leases in PostgreSQL, so every instance agrees on each deadline.

Deadlines are computed by the database's clock (`now()`), never an instance's. Every grant, renewal
and revocation NOTIFYs the agent's name; each instance re-reads that lease, and re-reads them all
after its notification connection comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg

from registry_server.postgres.database import unavailable_on_connection_loss
from registry_server.postgres.notifications import NotificationListener
from registry_server.registry.leases import Lease, LeaseChanged

LEASES_CHANNEL = "agent_registry_leases"

GRANT = """
INSERT INTO agent_leases (name, ttl_ms, deadline)
VALUES ($1, $2, now() + $2::bigint * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET ttl_ms = excluded.ttl_ms, deadline = excluded.deadline
RETURNING name, ttl_ms, deadline
"""
RENEW = """
UPDATE agent_leases SET deadline = now() + ttl_ms * interval '1 millisecond' WHERE name = $1
RETURNING name, ttl_ms, deadline
"""


class PostgresLeaseStore:
    """LeaseStore in the `agent_leases` table (created by the registry's schema migrations)."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._listener: NotificationListener | None = None

    async def grant(self, name: str, ttl: timedelta) -> Lease:
        """Starts the lease: deadline = database now + TTL."""
        return await self._write(GRANT, name, int(ttl / timedelta(milliseconds=1)))

    async def renew(self, name: str) -> Lease | None:
        """Moves the deadline to database now + TTL; None without a lease."""
        try:
            return await self._write(RENEW, name)
        except LookupError:
            return None

    async def _write(self, sql: str, *args: object) -> Lease:
        with unavailable_on_connection_loss("writing an agent lease"):
            async with self._pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(sql, *args)
                if row is None:
                    raise LookupError(args[0])
                await connection.execute("SELECT pg_notify($1, $2)", LEASES_CHANNEL, row["name"])
        return _lease(row)

    async def revoke(self, name: str) -> None:
        """Ends the lease."""
        with unavailable_on_connection_loss("ending an agent lease"):
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute("DELETE FROM agent_leases WHERE name = $1", name)
                await connection.execute("SELECT pg_notify($1, $2)", LEASES_CHANNEL, name)

    async def get(self, name: str) -> Lease | None:
        """The lease, or None."""
        with unavailable_on_connection_loss("reading an agent lease"):
            row = await self._pool.fetchrow(
                "SELECT name, ttl_ms, deadline FROM agent_leases WHERE name = $1", name
            )
        return None if row is None else _lease(row)

    async def all(self) -> list[Lease]:
        """Every lease."""
        with unavailable_on_connection_loss("reading agent leases"):
            rows = await self._pool.fetch("SELECT name, ttl_ms, deadline FROM agent_leases")
        return [_lease(row) for row in rows]

    def subscribe(self, changed: LeaseChanged, reconnected: Callable[[], None]) -> None:
        """Listens for other instances' lease changes."""

        async def on_connected() -> None:
            reconnected()

        self._listener = NotificationListener(
            self._url, [LEASES_CHANNEL], lambda _channel, name: changed(name), on_connected
        )
        self._listener.start()

    async def close(self) -> None:
        """Stops listening (the pool belongs to the registry store)."""
        if self._listener is not None:
            await self._listener.stop()


def _lease(row: asyncpg.Record) -> Lease:
    return Lease(row["name"], timedelta(milliseconds=row["ttl_ms"]), row["deadline"])
