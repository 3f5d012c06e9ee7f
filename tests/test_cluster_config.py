"""Choosing cluster mode: the --database-url flag and the docker-compose example."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml

from registry_server.config import parse_config
from tests.conftest import REPO
from tests.postgres import PostgresServer


def test_the_database_url_comes_from_the_flag_or_the_variable() -> None:
    url = "postgresql://registry@db:5432/agent_registry"
    assert parse_config(["--database-url", url], {}).database_url == url
    assert parse_config([], {"AGENT_REGISTRY_DATABASE_URL": url}).database_url == url
    assert parse_config([], {}).database_url == ""
    assert url not in repr(parse_config(["--database-url", url], {}))  # may hold a password


def test_a_database_url_that_is_not_postgresql_is_refused() -> None:
    with pytest.raises(SystemExit, match="postgresql:// URL"):
        parse_config(["--database-url", "mysql://db/agents"], {})


def test_the_compose_file_runs_two_instances_on_one_postgres() -> None:
    compose = yaml.safe_load(Path(REPO / "deploy" / "docker-compose.yaml").read_text())
    services = compose["services"]
    instances = [service for name, service in services.items() if name.startswith("registry-")]
    assert len(instances) == 2
    for instance in instances:
        assert instance["environment"]["AGENT_REGISTRY_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in instance["environment"]["AGENT_REGISTRY_DATABASE_URL"]
        assert instance["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:")
    published = [port for instance in instances for port in instance["ports"]]
    assert all(port.startswith("127.0.0.1:") for port in published)


async def test_a_server_whose_database_refuses_it_exits_with_a_message(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry_server",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path),
        "--database-url",
        postgres_server.url("no_such_database"),
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    log = err.decode()
    assert process.returncode == 1
    assert "cannot start: PostgreSQL at postgresql://registry@" in log
    assert "does not exist" in log
    assert "Traceback" not in log
