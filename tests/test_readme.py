"""The README's examples run as written against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
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


async def test_connect_example(server: RegistryServer) -> None:
    decision = await run_example(
        "from agent_registry_client import NotFound, StatusCode, connect", server, "decision"
    )
    assert decision.selected_agents == ("tickets_agent",)


async def test_router_example(server: RegistryServer) -> None:
    assert await run_example("from agent_registry_client import AgentChunk", server, "session_id")


def test_routing_config_example_is_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(readme_block("yaml", "weights:"))
    assert load_routing_config(path, RoutingConfig()) == RoutingConfig()


async def test_the_walkthrough_runs_in_order_as_written(server: RegistryServer, tmp_path: Path) -> None:
    """The agentctl walkthrough, then the client examples, in README order against one server."""
    script = readme_block("sh", "# is it up, and what does it hold?")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "AGENT_REGISTRY_TARGET": f"127.0.0.1:{server.port}",
    }
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"the walkthrough stopped:\n{out.decode()}\n{err.decode()}"
    printed = out.decode()
    assert "SERVING" in printed and "security_agent" in printed and "You have 3 tickets" in printed
    assert "security_agent" in (tmp_path / "registry-backup.yaml").read_text()
    await run_example("import asyncio", server, "None")
    assert await run_example(
        "from agent_registry_client import NotFound, StatusCode, connect", server, "decision"
    )
    await run_example("from agent_registry_client import Invocation", server, "current")
    assert await run_example("from agent_registry_client import AgentChunk", server, "session_id")
