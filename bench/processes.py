"""Starts the server (or the echo server) as a child process for the benchmarks, and measures it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
READY = re.compile(r"ready with \d+ agents .* on \S+:(\d+)|^ready (\d+)")


class Child:
    """A child process whose stderr/stdout is drained in a thread; `port` is set once it reports ready."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = 0
        self.ready_after_s = 0.0
        self._ready = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(120) or not self.port:
            self.stop()
            raise RuntimeError("child did not become ready:\n" + "".join(self.lines[-20:]))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if len(self.lines) < 200:
                self.lines.append(line)
            match = None if self._ready.is_set() else READY.search(line)
            if match:
                self.port = int(match.group(1) or match.group(2))
                self.ready_after_s = time.perf_counter() - self.started
                self._ready.set()
        self._ready.set()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def peak_rss_mb(self) -> float:
        """The child's peak resident set size (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
        return kib / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(data_dir: Path, *extra: str) -> Child:
    """The registry server over `data_dir` on a free port, logging at INFO as in production."""
    return Child(
        [
            "-m",
            "registry_server",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--defaults-file",
            str(data_dir / "none.yaml"),
            *extra,
        ]
    )


def start_echo_server() -> Child:
    """The bare grpc.aio echo server."""
    return Child(["-m", "bench.echo_server"])


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
    return json.loads(completed.stdout)
