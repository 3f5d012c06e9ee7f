"""Starts the server (or the echo server) as a child process for the benchmarks, and measures it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
READY = re.compile(r"ready with \d+ agents .* on \S+:(\d+)\n|^ready (\d+)\n", re.MULTILINE)


class Child:
    """A child process logging to a file, as in production; `port` is set once its log says it is ready."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="agent-registry-bench-", suffix=".log")[1])
        self._log = self.log_path.open("w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.port = 0
        self.ready_after_s = 0.0
        deadline = time.monotonic() + 120
        while not self.port:
            match = READY.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(1) or match.group(2))
                self.ready_after_s = time.perf_counter() - self.started
            elif self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("child did not become ready:\n" + self.log_path.read_text()[-3000:])
            else:
                time.sleep(0.002)  # a benchmark harness polling a log file, not a test

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def peak_rss_mb(self) -> float:
        """The child's peak resident set size (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
        return kib / 1024

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        self.process.kill()
        self.process.wait()
        self._log.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self.log_path.unlink(missing_ok=True)


def start_server(data_dir: Path, *extra: str, port: int = 0, env: dict[str, str] | None = None) -> Child:
    """The registry server over `data_dir` (on a free port by default), logging at INFO as in production."""
    defaults = data_dir / "none.yaml"
    args = [
        "-m",
        "registry_server",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--defaults-file",
        str(defaults),
        "--agent-modules",
        "bench,registry_server.demo_agents",
    ]
    return Child([*args, *extra], env)


def start_echo_server(env: dict[str, str] | None = None) -> Child:
    """The bare grpc.aio echo server."""
    return Child(["-m", "bench.echo_server"], env)


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs one load scenario in a separate client process and returns its JSON result."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load {spec['call']} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
