"""A write committed just before a kill -9 (its reply never sent) is applied once when the client retries it
with the same request id against the restarted server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from agent_registry_client import SessionClient
from agent_registry_client.errors import Unavailable
from agent_registry_client.session_models import SessionEvent
from tests.server_process import READY, REPO, ServerProcess, start_server_process


async def start_crashing_server(data_dir: Path) -> ServerProcess:
    """The server of tests/crash_after_commit.py on port 0, once it is ready."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_after_commit", "--port", "0", "--data-dir", str(data_dir),
        "--defaults-file", str(REPO / "data" / "default_registry.yaml"),
        cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode(errors="replace")
        if not line:
            raise RuntimeError("the crashing server exited before it was ready")
        match = READY.search(line)
        if match:
            return ServerProcess(process, int(match.group(3)), int(match.group(1)))


async def test_append_committed_before_kill_9_is_stored_once_on_retry(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    crashing = await start_crashing_server(data_dir)
    event = SessionEvent(event_id="e1", author="user", timestamp=1.0, content={"parts": [{"text": "hi"}]},
                         state_delta={"count": 1})  # fmt: skip
    async with SessionClient(crashing.target, timeout=5) as client:
        session = await client.create_session("alice", app_name="a", session_id="s")
        with pytest.raises(Unavailable):
            await client.append_event("s", event, app_name="a", user_id="alice", request_id="crash-1")
    assert await asyncio.wait_for(crashing.process.wait(), 30) == -9
    restarted = await start_server_process(data_dir)
    try:
        async with SessionClient(restarted.target) as client:
            retried = await client.append_event(
                "s", event, app_name="a", user_id="alice", request_id="crash-1"
            )
            again = await client.append_event("s", event, app_name="a", user_id="alice", request_id="crash-1")
            stored = await client.get_session_events("s", app_name="a", user_id="alice")
    finally:
        await restarted.terminate()
    assert session.revision == 1
    assert retried == again and retried.revision == 2 and retried.event.seq == 1
    assert [e.event_id for e in stored.events] == ["e1"] and stored.state == {"count": 1}
    assert stored.revision == 2
