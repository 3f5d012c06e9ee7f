"""Routing at start-up: the model read from the wordllama wheel; decisions with and without a vector cache."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from agent_registry_client import Agent, Capabilities, Factory, RegistryClient, RouterClient, RoutingDecision
from registry_server import server as server_module
from registry_server.routing.embedder import (
    Embedder,
    EmbeddingModelError,
    load_embedder,
    model_files,
    shared_embedder,
)
from registry_server.routing.vector_cache import VECTOR_CACHE_FILE_NAME
from tests.conftest import StartServer
from tests.routing_agents import WORKPLACE

TEXTS = (
    "show my open incidents and book a meeting room for tomorrow",
    "What's my vacation balance? Also, any new courses on Kubernetes?",
    "Ünïcödé naïve café — 東京 🚀",
    "",
)
QUERIES = (
    "show my open incidents",
    "restart the build and file a bug for the flaky test",
    "how much did we spend on storage last month and who is on call this week",
    "my laptop keeps dropping the wifi",
    "what is the capital of Peru",
    "sign me up for the kubernetes security course",
)


def test_the_model_read_from_the_wheel_is_the_one_wordllama_loads() -> None:
    import wordllama  # type: ignore[import-untyped, unused-ignore]

    reference = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    ours = shared_embedder()
    assert np.array_equal(ours.table, reference.embedding)
    for text in TEXTS:
        expected = reference.tokenizer.encode(text, add_special_tokens=False).ids
        assert ours.token_ids(text) == expected, text


def test_a_query_vector_is_the_unit_mean_of_its_token_vectors() -> None:
    model = shared_embedder()
    for text in (*TEXTS, *QUERIES, "show topic7 please " * 40):
        ids = model.token_ids(text)
        if not ids:
            assert not model.embed(text).any()
            continue
        mean = model.table[ids].mean(axis=0)
        expected = mean / np.linalg.norm(mean)
        assert np.array_equal(model.embed(text), expected), text


def test_a_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddingModelError, match="wordllama package is not installed"):
        model_files()


def test_unreadable_model_files_are_a_clear_error(tmp_path: Path) -> None:
    weights, tokenizer = model_files()
    broken = tmp_path / "weights.safetensors"
    broken.write_bytes(b"not a tensor file")
    with pytest.raises(EmbeddingModelError, match="cannot read the embedding model"):
        load_embedder(broken, tokenizer)
    with pytest.raises(EmbeddingModelError, match="cannot read the embedding model"):
        load_embedder(weights, tmp_path / "missing.json")


@pytest.fixture
async def workplace_registered(start: StartServer, tmp_path: Path) -> None:
    """The in-house agents registered in a server over the test's data dir, which is then stopped."""
    server = await start(defaults_file=tmp_path / "no-defaults.yaml")
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        await client.batch_register_agents(
            [
                Agent(
                    agent.name,
                    Factory("tests.fake_agents", "create_echo_agent"),
                    description=agent.description,
                    capabilities=Capabilities(
                        agent.domains, agent.operations, agent.entities, agent.keywords, 0, agent.examples
                    ),
                )
                for agent in WORKPLACE
            ]
        )
    await server.stop(0)


async def decisions_after_start(start: StartServer) -> AsyncIterator[RoutingDecision]:
    """Every query's decision from a freshly started server."""
    server = await start()
    try:
        async with RouterClient(f"127.0.0.1:{server.port}") as router:
            for query in QUERIES:
                yield await router.route(query)
    finally:
        await server.stop(0)


async def test_start_up_with_and_without_the_vector_cache_routes_the_same(
    workplace_registered: None, start: StartServer, data_dir: Path
) -> None:
    cache = data_dir / VECTOR_CACHE_FILE_NAME
    assert cache.exists(), "a stopped server leaves its vectors beside the registry"
    with_cache = [d async for d in decisions_after_start(start)]
    cache.unlink()
    without_cache = [d async for d in decisions_after_start(start)]
    assert cache.exists(), "a start without the cache writes it again"
    for cached, computed in zip(with_cache, without_cache, strict=True):
        assert cached == computed, f"{cached}\n{computed}"
    assert with_cache[0].selected_agents == ("incidents_agent",)
    assert with_cache[4].abstained, "the out-of-scope query abstains either way"


async def test_a_server_without_its_embedding_model_does_not_start(
    start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Embedder:
        raise EmbeddingModelError("the wordllama package is not installed: routing needs its bundled model")

    monkeypatch.setattr(server_module, "shared_embedder", missing)
    with pytest.raises(EmbeddingModelError, match="wordllama package is not installed"):
        await start()
    assert gc.isenabled(), "the collector paused for start-up runs again"
    monkeypatch.undo()
    server = await start()
    assert server.port, "the failed start released the data dir"
    assert gc.isenabled()
