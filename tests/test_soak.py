"""A short run of the crash soak (`make soak` runs it for minutes), and checks that its verifier can fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

from agentregistry.v1 import session_service_pb2
from bench.soak import verify
from bench.soak_client import AckLog, SoakClient
from registry_server.domain.session import Event, Role
from registry_server.server import RegistryServer
from tests.conftest import REPO


def test_short_soak_loses_nothing_across_kill_9_restarts() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--duration", "8", "--clients", "2", "--restart-every", "1.5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = json.loads(completed.stdout)
    assert completed.returncode == 0, summary
    assert summary["ok"] and summary["lost"] == 0 and summary["seq_gaps"] == []
    assert summary["duplicates"] == 0, summary["duplicate_examples"]
    assert summary["restarts"] >= 3
    assert summary["acknowledged"].get("append", 0) > 0 and summary["acknowledged"].get("register", 0) > 0
    assert summary["corrupt_files"] == [] and not summary["recovery_on_restart"]


async def test_the_verifier_reports_what_is_missing(server: RegistryServer) -> None:
    session = await server.sessions.create_session("soak0", {})
    acks = [
        {"op": "register", "name": "tickets_agent"},
        {"op": "register", "name": "never_registered_agent"},
        {"op": "append", "session": session.session_id, "seq": 1, "content": "never stored"},
    ]
    result = await verify(f"127.0.0.1:{server.port}", acks)
    assert result["lost"] == ["agent never_registered_agent", f"history entry 1 of {session.session_id}"]


async def test_the_verifier_reports_what_is_recorded_twice(server: RegistryServer) -> None:
    session = await server.sessions.create_session("soak0", {})
    for _ in range(2):  # two writes with no shared request id: what a retry without one would leave
        await server.sessions.append_history(session.session_id, Role.USER, "client 0 message 7", "")
        await server.sessions.append_event(session.session_id, Event("c0-e8", author="soak", timestamp=1.0))
    acks = [
        {"op": "append", "session": session.session_id, "seq": 1, "content": "client 0 message 7"},
        {"op": "event", "session": session.session_id, "seq": 1, "event_id": "c0-e8"},
    ]
    result = await verify(f"127.0.0.1:{server.port}", acks)
    assert result["lost"] == [] and result["gaps"] == []
    assert result["duplicates"] == [
        f"message 'client 0 message 7' of {session.session_id} stored 2 times",
        f"event 'c0-e8' of {session.session_id} stored 2 times",
    ]


async def test_a_write_is_resent_with_its_request_id_until_acknowledged(tmp_path: Path) -> None:
    """Two dropped connections, then an answer: the same request (same request_id) is sent each time."""
    sent: list[Any] = []

    async def flaky(request: Any, **_: Any) -> str:
        sent.append(request)
        if len(sent) < 3:
            raise aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, aio.Metadata(), aio.Metadata(), "connection reset"
            )
        return "acknowledged"

    async with aio.insecure_channel("127.0.0.1:1") as channel:
        client = SoakClient(channel, 0, AckLog(str(tmp_path / "acks.jsonl")), seed=0)
        client.deadline = time.time() + 60
        request = session_service_pb2.AppendHistoryRequest(session_id="s", content="x", request_id="r-1")
        assert await client.write(flaky, request) == "acknowledged"
    assert [r.request_id for r in sent] == ["r-1", "r-1", "r-1"] and client.retries == 2
