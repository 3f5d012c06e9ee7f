"""Waiting for marker files that agents create (agents may run in another process than the test)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

POLL_S = 0.01


async def wait_for_path(path: Path, timeout_s: float = 20.0) -> None:
    """Returns once `path` exists; fails the test after `timeout_s` (a deadline, not a synchronisation)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout_s:g} s"
        await asyncio.sleep(POLL_S)
