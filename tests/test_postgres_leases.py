"""Leases on PostgreSQL: the database's clock sets deadlines, each instance judges them on its own clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from registry_server.registry.postgres_leases import PostgresLeaseStore
from registry_server.registry.postgres_store import PostgresRegistryStore

TTL = timedelta(seconds=30)


@pytest.fixture
async def registry_store(postgres_url: str) -> AsyncIterator[PostgresRegistryStore]:
    store = await PostgresRegistryStore.open(postgres_url)
    yield store
    await store.close()


@pytest.mark.parametrize("skew", [timedelta(hours=1), timedelta(hours=-1)])
async def test_a_skewed_instance_clock_neither_ends_nor_stretches_a_lease(
    registry_store: PostgresRegistryStore, skew: timedelta
) -> None:
    def skewed_clock() -> datetime:
        return datetime.now(UTC) + skew

    leases = PostgresLeaseStore(registry_store.pool, registry_store.url, skewed_clock)
    granted = await leases.grant("skewed_agent", TTL)
    renewed = await leases.renew("skewed_agent")
    read = await leases.get("skewed_agent")
    for lease in (granted, renewed, read, *(await leases.all())):
        assert lease is not None
        remaining = lease.deadline - skewed_clock()
        assert timedelta(0) < remaining <= TTL
