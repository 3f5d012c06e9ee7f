"""Chooses the registry's stores: embedded (journal in the data dir) or PostgreSQL (`--database-url`)."""

from __future__ import annotations

import logging
from pathlib import Path

from registry_server.registry.journal_store import JournalStore
from registry_server.registry.leases import LeaseStore, MemoryLeaseStore
from registry_server.registry.store import RegistryStore

# The PostgreSQL modules are imported where they are used: asyncpg costs start-up time that the embedded
# stores should not pay.

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class DatabaseUrlError(ValueError):
    """The database URL is not a PostgreSQL URL."""


def check_database_url(url: str) -> None:
    """Refuses a URL this server cannot use, before anything starts."""
    if url and not url.startswith(POSTGRES_SCHEMES):
        from registry_server.postgres.database import redacted

        raise DatabaseUrlError(
            f"--database-url must start with postgresql:// (got {redacted(url)[:80]!r}); "
            "leave it unset for the embedded stores"
        )


async def open_registry_store(database_url: str, data_dir: Path, defaults_file: Path | None) -> RegistryStore:
    """The PostgreSQL store when a URL is given, else the embedded journal in the data dir."""
    if not database_url:
        return JournalStore(data_dir, defaults_file)
    check_database_url(database_url)
    from registry_server.postgres.database import redacted
    from registry_server.registry.postgres_store import PostgresRegistryStore

    store = await PostgresRegistryStore.open(database_url, defaults_file)
    log.info("registry on PostgreSQL at %s", redacted(database_url))
    return store


def lease_store_for(store: RegistryStore) -> LeaseStore:
    """Leases live beside the registry: in PostgreSQL with it, else in this process's memory."""
    if isinstance(store, JournalStore):
        return MemoryLeaseStore()
    from registry_server.registry.postgres_leases import PostgresLeaseStore
    from registry_server.registry.postgres_store import PostgresRegistryStore

    if isinstance(store, PostgresRegistryStore):
        return PostgresLeaseStore(store.pool, store.url)
    return MemoryLeaseStore()
