"""Fixtures: in-process servers on port 0 over a temporary data directory, and clients of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_registry_client import RegistryClient, SessionClient
from registry_server.config import ServerConfig
from registry_server.server import RegistryServer, start_server
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures: a real PostgreSQL)

REPO = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = REPO / "data" / "default_registry.yaml"
# The agents of the shipped default registry.
DEMO_AGENTS = set(yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))["agents"])
# Test servers may build agents from the demo package and from the test suite's own factories.
AGENT_MODULES = ("registry_server.demo_agents", "tests")

StartServer = Callable[..., Awaitable[RegistryServer]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
async def start(data_dir: Path) -> AsyncIterator[StartServer]:
    """Starts servers on port 0 over `data_dir` (or another dir); stops them all at the end."""
    running: list[RegistryServer] = []

    async def start_one(**overrides: Any) -> RegistryServer:
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "data_dir": data_dir,
            "defaults_file": DEFAULTS_FILE,
            "shutdown_grace_s": 0.5,
            "agent_modules": AGENT_MODULES,
        }
        settings.update(overrides)
        server = await start_server(ServerConfig(**settings))
        running.append(server)
        return server

    yield start_one
    for server in running:
        await server.stop(0)


@pytest.fixture
async def server(start: StartServer) -> RegistryServer:
    return await start()


@pytest.fixture
async def client(server: RegistryServer) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry_client:
        yield registry_client


@pytest.fixture
async def sessions(server: RegistryServer) -> AsyncIterator[SessionClient]:
    async with SessionClient(f"127.0.0.1:{server.port}") as session_client:
        yield session_client
