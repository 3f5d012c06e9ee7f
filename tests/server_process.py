"""Runs the server as a real subprocess (for kill -9, signals and the command line)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY = re.compile(r"Registry service ready with (\d+) agents .* on (\S+):(\d+)")


class ServerProcess:
    """A `python -m registry_server` child; `port` is known once it logged that it is ready."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, agent_count: int) -> None:
        self.process = process
        self.port = port
        self.agent_count = agent_count
        self.log_lines: list[str] = []
        self._drain = asyncio.ensure_future(self._collect())

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _collect(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log_lines.append(line.decode(errors="replace"))

    async def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        self.process.kill()
        await self.process.wait()
        await self._drain

    async def terminate(self) -> int:
        """SIGTERM, then the exit code."""
        self.process.terminate()
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._drain
        return code


async def start_server_process(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, defaults: Path | None = None
) -> ServerProcess:
    """Starts the server on port 0 and waits for its ready line."""
    defaults = defaults or REPO / "data" / "default_registry.yaml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry_server",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--defaults-file",
        str(defaults),
        "--agent-modules",
        "registry_server.demo_agents,tests",
        *args,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen = []
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode(errors="replace")
        if not line:
            await process.wait()
            raise RuntimeError("server exited before it was ready:\n" + "".join(seen))
        seen.append(line)
        match = READY.search(line)
        if match:
            server = ServerProcess(process, int(match.group(3)), int(match.group(1)))
            server.log_lines.extend(seen)
            return server
