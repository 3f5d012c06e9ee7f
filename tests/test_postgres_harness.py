"""The PostgreSQL test harness: a real server, a fresh database per test, restartable."""

from __future__ import annotations

import os

import asyncpg
import pytest

from tests.postgres import PostgresServer, PostgresUnavailable, require_postgres


async def test_each_test_gets_an_empty_database_of_its_own(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        await connection.execute("CREATE TABLE marker (id int)")
        database = await connection.fetchval("SELECT current_database()")
    finally:
        await connection.close()
    assert tables == 0
    assert postgres_url.endswith("/" + database)


async def test_the_server_runs_as_an_unprivileged_user(postgres_server: PostgresServer) -> None:
    owner = os.stat(postgres_server.data).st_uid
    assert owner != 0 or os.geteuid() != 0
    connection = await asyncpg.connect(postgres_server.url())
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()


def test_missing_postgres_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and PostgreSQL is missing"):
        require_postgres(PostgresUnavailable("no initdb"))


def test_missing_postgres_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not installed"):
        require_postgres(PostgresUnavailable("no initdb"))
