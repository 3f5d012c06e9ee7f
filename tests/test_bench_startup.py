"""The start-up bench still works at a tiny size: both variants reach a first Route, with their references."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import startup


def test_the_startup_bench_measures_both_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "AGENTS", 20)
    monkeypatch.setattr(startup, "EXAMPLES", 3)
    monkeypatch.setattr(startup, "RUNS", 1)
    cached, uncached = startup.figures(tmp_path)
    for figure in (cached, uncached):
        assert 0 < figure["ready_s"] <= figure["value"], "the first Route is answered after ready"
        assert figure["server_cpu_s"] > 0
        assert figure["python_c_pass_s"] > 0 and figure["echo_server_start_s"] > 0
    assert "with the vector cache" in cached["name"] and "without a vector cache" in uncached["name"]
    assert (tmp_path / "startup-examples" / "routing_vectors.npz").exists()
    assert any((tmp_path / "pycache").rglob("*.pyc")), "children write bytecode to the run's own cache prefix"
