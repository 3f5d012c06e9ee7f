"""A short run of the crash soak (`make soak` runs it for minutes), and a check that its verifier can fail."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.soak import verify
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
