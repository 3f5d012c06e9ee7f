"""The benchmark's pieces still work: every load scenario, the seeders and stage 1, at tiny sizes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import a2a_turns, agents, stage1
from bench.load import main as run_scenario
from bench.seed import write_registry, write_sessions
from tests.conftest import AGENT_MODULES, StartServer


async def test_every_load_scenario_runs(start: StartServer, data_dir: Path) -> None:
    write_registry(data_dir, 20)
    await asyncio.to_thread(write_sessions, data_dir, 30, {"long_session": 40})
    server = await start(agent_modules=(*AGENT_MODULES, "bench"))
    target = f"127.0.0.1:{server.port}"
    scenarios = [
        ("get_agent", {"agent": "agent_00003"}),
        ("route", {"agents": 20}),
        ("register_agent", {"prefix": "smoke"}),
        ("register_agent", {"prefix": "examples", "examples": 50}),
        ("create_session", {}),
        ("append_history", {"sessions": 2}),
        ("record_invocation", {}),
        ("get_session", {"session_id": "long_session", "history": 40}),
        ("list_sessions", {"user_id": "user7"}),
    ]
    for call, params in scenarios:
        result = await run_scenario(
            {"target": target, "kind": "latency", "call": call, "count": 3, "warmup": 1, "params": params}
        )
        assert result["count"] == 3 and result["p50"] > 0, call
    rate = await run_scenario(
        {
            "target": target,
            "kind": "throughput",
            "call": "append_history",
            "concurrency": 4,
            "count": 20,
            "warmup": 0,
            "params": {"sessions": 2},
        }
    )
    assert rate["count"] >= 20 and rate["rate"] > 0
    assert len(server.registry) == 20 + 3 + 1 + 3 + 1, "the registered agents were really stored"
    assert len(server.registry.get("examples_000000").spec.capabilities.examples) == 50


def test_stage1_measures() -> None:
    index = stage1.build_index(50)
    result = stage1.measure(index.score, stage1.typical_queries(50, count=20), repeat=1)
    assert result["count"] == 20 and result["p50"] > 0
    assert stage1.registration_ms(index, examples=50, count=3)["p50"] > 0
    assert stage1.memory_per_agent_kb(count=20) > 0


def test_the_a2a_bench_runs(tmp_path: Path) -> None:
    figures, medians = a2a_turns.run(tmp_path, turns=2, warmup=1)
    assert {"direct_turn", "runtime_turn", "route_and_invoke_turn"} <= set(medians["a2a p50 ms"])
    assert len(figures) == 4 and all(figure["reference_p50"] > 0 for figure in figures)


def test_the_physical_references_measure(tmp_path: Path) -> None:
    from bench import references

    assert references.fsync_p50_ms(tmp_path) > 0
    assert references.sqlite_commit_p50_ms(tmp_path) > 0
    assert list(tmp_path.iterdir()) == [], "the probes clean up after themselves"


async def test_agent_turn_figures_run(start: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server = await start(agent_modules=(*AGENT_MODULES, "bench"))
    monkeypatch.setattr(agents, "TURNS", 3)
    figures = await agents._turn_figures(f"127.0.0.1:{server.port}")
    assert figures["first_chunk_ms"]["p50"] > 0 and figures["cheap_turn_ms"]["p50"] > 0
