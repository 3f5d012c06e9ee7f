"""The README's examples run as written against a real server."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from agent_registry_client import RegistryClient
from registry_server.routing.config import RoutingConfig, load_routing_config
from registry_server.server import RegistryServer

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block(language: str, first_line: str) -> str:
    """The README code block in `language` that starts with `first_line`."""
    match = re.search(rf"```{language}\n({re.escape(first_line)}.*?)```", README.read_text(), re.DOTALL)
    assert match, f"the README lost its example starting {first_line!r}"
    return match.group(1)


async def run_example(first_line: str, server: RegistryServer, returns: str) -> Any:
    """Runs a README Python example (its top-level awaits wrapped in a coroutine) against `server`."""
    imports, _, body = readme_block("python", first_line).partition("\n\n")
    body = body.replace("localhost:8003", f"127.0.0.1:{server.port}").replace("asyncio.run(main())", "")
    if "async def main" not in body:
        body = "async def main():\n" + textwrap.indent(body, "    ") + f"    return {returns}\n"
    namespace: dict[str, Any] = {}
    exec(compile(imports + "\n\n" + body, "README.md", "exec"), namespace)
    return await namespace["main"]()


async def test_registry_example(server: RegistryServer, client: RegistryClient) -> None:
    await run_example("import asyncio", server, "None")
    agent = await client.get_agent("security_agent")
    assert agent.enabled is False and agent.capabilities.priority == 15


async def test_session_example(server: RegistryServer) -> None:
    current = await run_example("from agent_registry_client import Invocation", server, "current")
    assert current.last_agent_called == "tickets_agent"
    assert [entry.content for entry in current.history] == ["show my tickets"]


async def test_router_example(server: RegistryServer) -> None:
    assert await run_example("from agent_registry_client import AgentChunk", server, "session_id")


def test_routing_config_example_is_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(readme_block("yaml", "weights:"))
    assert load_routing_config(path, RoutingConfig()) == RoutingConfig()
