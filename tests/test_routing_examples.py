"""Stage 1's nearest-examples signal: similarity to an agent's closest sample requests, and its cache."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pytest

from registry_server.domain.agent import AgentSpec, AgentState, Capabilities, FactoryRef, RegisteredAgent
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.routing.config import RoutingConfig
from registry_server.routing.embedder import shared_embedder
from registry_server.routing.example_index import ExampleIndex, quantized, restored
from registry_server.routing.hybrid_index import AgentVectors, HybridIndex
from registry_server.routing.router import Router
from registry_server.routing.vector_cache import VectorCache
from tests.test_routing_hybrid import StaticRegistry


def unit_rows(*rows: list[float]) -> np.ndarray:
    matrix = np.array(rows, np.float32)
    normalised: np.ndarray = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return normalised


def agent(name: str, description: str, examples: tuple[str, ...] = ()) -> RegisteredAgent:
    spec = AgentSpec(name, FactoryRef("m", "f"), description, Capabilities(examples=examples))
    return RegisteredAgent(spec, "etag", AgentState.AVAILABLE)


def test_the_signal_averages_the_closest_examples_only() -> None:
    index = ExampleIndex(nearest=2)
    index.put(0, quantized(unit_rows([1, 0, 0], [0.8, 0.6, 0], [0, 0, 1])))
    index.put(1, quantized(unit_rows([0, 1, 0])))
    query = np.array([1, 0, 0], np.float32)
    scores = index.similarities(query, np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3], np.float32))
    assert scores[0] == pytest.approx((1.0 + 0.8) / 2, abs=1e-3)
    assert scores[1] == pytest.approx(0.0, abs=1e-3), "one example: it alone"
    assert scores[2] == pytest.approx(0.3), "no examples: the fallback (the agent's mean similarity)"
    index.remove(0)
    assert index.similarities(query, np.array([0]), np.array([0.5], np.float32))[0] == pytest.approx(0.5)


def test_example_vectors_are_kept_to_within_half_a_step() -> None:
    rows = unit_rows([0.3, -0.2, 0.9, 0.01], [0.0, 0.0, 0.0, 1.0])
    kept = quantized(rows)
    assert kept.integers.dtype == np.int8 and kept.integers.nbytes == rows.size
    assert np.abs(restored(kept) - rows).max() <= kept.scales.max() / 2 + 1e-7
    assert not restored(quantized(np.zeros((1, 4), np.float32))).any(), "an all-zero row stays zero"


def test_a_query_phrased_like_one_example_scores_its_agent_by_that_example() -> None:
    index = HybridIndex(RoutingConfig(nearest_examples=1), shared_embedder())
    examples = (
        "renew my passport before the trip",
        "what vaccines do I need for Brazil",
        "how much cash should I carry abroad",
        "find a cheap flight to Lisbon in May",
    )
    index.rebuild(
        [agent("travel_agent", "Help with travel", examples), agent("plain_agent", "Gardening tips")]
    )
    found = index.score("renew my passport before the trip")
    [travel] = [c for c in found if c.agent_name == "travel_agent"]
    assert travel.example_score > 0.99 > travel.semantic_score
    assert any(reason.startswith("nearest examples' similarity 1.00") for reason in travel.reasons)
    [plain] = [c for c in index.score("tips for my gardening") if c.agent_name == "plain_agent"]
    assert plain.example_score == pytest.approx(plain.semantic_score, abs=1e-5), "no examples: no penalty"


def test_without_the_examples_weight_the_relevance_ignores_them() -> None:
    config = RoutingConfig()
    off = RoutingConfig(fusion={**config.fusion, "examples": 0.0})
    index = HybridIndex(off, shared_embedder())
    index.rebuild([agent("travel_agent", "Help with travel", ("renew my passport before the trip",))])
    [travel] = index.score("renew my passport before the trip")
    assert not any(reason.startswith("nearest examples") for reason in travel.reasons)
    weights = off.fusion
    expected = weights["lexical"] * travel.lexical_score + weights["semantic"] * travel.semantic_score
    assert travel.score == pytest.approx(expected, abs=1e-5)


async def test_example_vectors_survive_a_restart_through_the_cache(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "routing_vectors.npz")
    agents = [
        agent("travel_agent", "Help with travel", ("renew my passport", "book a flight to Lisbon")),
        agent("plain_agent", "Gardening tips"),
    ]
    first = Router(cast(AgentRegistry, StaticRegistry(agents)), RoutingConfig(), None, vector_cache=cache)
    loaded = cache.load()
    assert loaded["travel_agent"][1].examples.integers.shape == (2, shared_embedder().dimensions)
    assert len(loaded["plain_agent"][1].examples) == 0
    restarted = Router(cast(AgentRegistry, StaticRegistry(agents)), RoutingConfig(), None, vector_cache=cache)
    [before] = [c for c in first.candidates("renew my passport") if c.agent_name == "travel_agent"]
    [after] = [c for c in restarted.candidates("renew my passport") if c.agent_name == "travel_agent"]
    assert after.example_score == pytest.approx(before.example_score, abs=2e-3)


def test_a_cache_whose_example_counts_do_not_add_up_is_ignored(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "routing_vectors.npz")
    cache.save({})
    assert cache.path.exists() and cache.load() == {}
    vectors = AgentVectors(np.full(4, 0.5, np.float32), quantized(unit_rows([1, 0, 0, 0])))
    cache.save({"travel_agent": ("digest", vectors)})
    assert cache.load()["travel_agent"][1].examples.integers.shape == (1, 4)
    with np.load(cache.path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["example_counts"] = np.array([3])
    with cache.path.open("wb") as handle:
        np.savez(handle, **arrays)
    assert cache.load() == {}
