"""The README's client example runs as written against a real server."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from agent_registry_client import RegistryClient
from registry_server.server import RegistryServer

README = Path(__file__).resolve().parent.parent / "README.md"


async def test_readme_client_example_runs(server: RegistryServer, client: RegistryClient) -> None:
    block = re.search(r"```python\n(import asyncio\n.*?)```", README.read_text(), re.DOTALL)
    assert block, "the README lost its client example"
    source = block.group(1).replace("localhost:8003", f"127.0.0.1:{server.port}")
    source = source.replace("asyncio.run(main())", "")
    namespace: dict[str, object] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    await namespace["main"]()  # type: ignore[operator]
    agent = await client.get_agent("security_agent")
    assert agent.enabled is False and agent.capabilities.priority == 15


async def test_readme_session_example_runs(server: RegistryServer) -> None:
    block = re.search(
        r"```python\n(from agent_registry_client import Invocation.*?)```", README.read_text(), re.DOTALL
    )
    assert block, "the README lost its session example"
    imports, _, body = block.group(1).partition("\n\n")
    body = body.replace("localhost:8003", f"127.0.0.1:{server.port}")
    source = imports + "\n\nasync def main():\n" + textwrap.indent(body, "    ") + "    return current\n"
    namespace: dict[str, object] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    current = await namespace["main"]()  # type: ignore[operator]
    assert current.last_agent_called == "tickets_agent"
    assert [entry.content for entry in current.history] == ["show my tickets"]


async def test_readme_router_example_runs(server: RegistryServer) -> None:
    block = re.search(
        r"```python\n(from agent_registry_client import AgentResult.*?)```", README.read_text(), re.DOTALL
    )
    assert block, "the README lost its router example"
    imports, _, body = block.group(1).partition("\n\n")
    body = body.replace("localhost:8003", f"127.0.0.1:{server.port}")
    source = imports + "\n\nasync def main():\n" + textwrap.indent(body, "    ") + "    return session_id\n"
    namespace: dict[str, object] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    assert await namespace["main"]()  # type: ignore[operator]


def test_readme_routing_config_example_loads(tmp_path: Path) -> None:
    from registry_server.routing.config import RoutingConfig, load_routing_config

    block = re.search(r"```yaml\n(weights:.*?)```", README.read_text(), re.DOTALL)
    assert block, "the README lost its routing config example"
    path = tmp_path / "routing.yaml"
    path.write_text(block.group(1))
    assert load_routing_config(path, RoutingConfig()) == RoutingConfig()
