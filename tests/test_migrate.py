"""`agent-registry migrate`: an embedded data dir's registry copied into PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from agent_registry_client import RegistryClient
from registry_server.registry.postgres_store import PostgresRegistryStore
from tests.conftest import DEMO_AGENTS, REPO, StartServer
from tests.test_registry_rpcs import security_agent


async def run_migrate(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry_server",
        "migrate",
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_migrate_copies_every_agent_with_its_etag_once(
    start: StartServer, data_dir: Path, postgres_url: str
) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        registered = await client.register_agent(security_agent())
    await server.stop(0)

    code, out, err = await run_migrate("--from-data-dir", str(data_dir), "--database-url", postgres_url)
    assert code == 0, err
    assert f"registry: {len(DEMO_AGENTS) + 1} agents copied" in out

    store = await PostgresRegistryStore.open(postgres_url, REPO / "data" / "default_registry.yaml")
    try:
        loaded = await store.load()
    finally:
        await store.close()
    by_name = {agent.spec.name: agent for agent in loaded.agents}
    assert set(by_name) == DEMO_AGENTS | {"security_agent"}
    assert by_name["security_agent"].etag == registered.etag
    assert loaded.source == "PostgreSQL"  # imported, so the defaults were not seeded on top

    code, _, err = await run_migrate("--from-data-dir", str(data_dir), "--database-url", postgres_url)
    assert code == 1
    assert "already holds an agent named" in err
    assert "Traceback" not in err


async def test_migrate_refuses_a_data_dir_in_use_or_missing(
    start: StartServer, data_dir: Path, postgres_url: str, tmp_path: Path
) -> None:
    await start()
    code, _, err = await run_migrate("--from-data-dir", str(data_dir), "--database-url", postgres_url)
    assert code == 1
    assert "in use by another server" in err
    code, _, err = await run_migrate(
        "--from-data-dir", str(tmp_path / "nowhere"), "--database-url", postgres_url
    )
    assert (code, "is not a directory" in err) == (1, True)
    code, _, err = await run_migrate("--from-data-dir", str(data_dir), "--database-url", "mysql://x")
    assert code != 0
    assert "postgresql://" in err
