"""bench/registry_writes.py still works, at tiny sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import registry_writes


def test_fsync_and_register_measurements_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_writes, "REGISTRATIONS", 5)
    assert registry_writes.fsync_p50_ms(tmp_path, samples=5) > 0
    measured = registry_writes.register_p50_ms(tmp_path, 20)
    assert measured["count"] == 5 and measured["p50"] > 0
