"""Stage-1 routing in process: the hybrid index's latency at several registry sizes, by query length, the
typed index alone for reference, BM25 against bm25s, the nearest-examples signal's cost, registration cost and
memory per agent."""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from bench.seed import synthetic_agents
from registry_server.domain.agent import AgentState, RegisteredAgent
from registry_server.routing.capability_index import CapabilityIndex
from registry_server.routing.config import RoutingConfig
from registry_server.routing.embedder import shared_embedder
from registry_server.routing.hybrid_index import HybridIndex, agent_texts
from registry_server.routing.lexical_index import LexicalIndex
from registry_server.routing.text import content_words

EXAMPLES_PER_AGENT = 20


def agents(count: int, examples: int = EXAMPLES_PER_AGENT) -> list[RegisteredAgent]:
    """`count` synthetic routable agents with `examples` sample requests each."""
    return [
        RegisteredAgent(spec, "e", AgentState.AVAILABLE)
        for spec in synthetic_agents(count, examples=examples)
    ]


def build_index(agent_count: int) -> HybridIndex:
    """A hybrid index over synthetic agents, frozen out of the GC's way as the server does."""
    index = HybridIndex(RoutingConfig(), shared_embedder())
    index.rebuild(agents(agent_count))
    gc.collect()
    gc.freeze()
    return index


def measure(score: Callable[[str], object], queries: list[str], repeat: int = 3) -> dict[str, Any]:
    """p50/p99 in ms of scoring each query, `repeat` times over."""
    samples = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            score(query)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p99": samples[int(len(samples) * 0.99)],
        "count": len(samples),
    }


def typical_queries(agent_count: int, count: int = 1000) -> list[str]:
    """Queries like users type: an action, a subject and filler, some naming two agents."""
    rng = random.Random(3)
    queries = []
    for n in range(count):
        first, second = rng.randrange(agent_count), rng.randrange(agent_count)
        if n % 4 == 0:
            queries.append(f"list my topic{first} and thing{second} please")
        else:
            queries.append(f"show me the status of my topic{first} for today")
    return queries


def query_of_words(words: int, agent_count: int) -> list[str]:
    """Queries of exactly `words` words, each naming a different agent's topic."""
    rng = random.Random(5)
    return [" ".join(f"topic{rng.randrange(agent_count)}" for _ in range(words)) for _ in range(300)]


def registration_ms(index: HybridIndex, examples: int = 50, count: int = 200) -> dict[str, Any]:
    """p50 of putting (and replacing) an agent with `examples` sample requests into the index."""
    fresh = agents(count, examples=examples)
    samples = []
    for agent in fresh:
        renamed = RegisteredAgent(replace(agent.spec, name=f"new_{agent.name}"), "e", agent.state)
        started = time.perf_counter()
        index.put(renamed)
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50": statistics.median(samples), "p99": sorted(samples)[int(len(samples) * 0.99)]}


def memory_per_agent_kb(count: int = 2000) -> float:
    """Bytes the index holds per agent (BM25 postings, vector, typed terms), measured with tracemalloc."""
    population = agents(count)
    shared_embedder()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = HybridIndex(RoutingConfig(), shared_embedder())
    index.rebuild(population)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count / 1024


def semantic_top_against_full_product(index: HybridIndex, k: int = 20) -> dict[str, Any]:
    """The semantic index's top k (narrow shortlist, exact rescoring) against a full matrix-vector product."""
    semantic = index.semantic
    matrix = np.stack([semantic.vector(slot) for slot in range(len(index))])
    embedder = shared_embedder()
    vectors = [embedder.embed(query) for query in typical_queries(len(index), 300)]
    shortlist, full = [], []
    for _ in range(3):
        for vector in vectors:  # interleaved, so both see the same machine
            started = time.perf_counter()
            semantic.top(vector, k)
            shortlist.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            np.argpartition(matrix @ vector, -k)[-k:]
            full.append((time.perf_counter() - started) * 1000)
    ours, reference = statistics.median(shortlist), statistics.median(full)
    return {
        "shortlist_p50_ms": round(ours, 4),
        "full_product_p50_ms": round(reference, 4),
        "ratio": round(ours / reference, 3),
    }


def examples_signal_cost(index: HybridIndex) -> dict[str, Any]:
    """Stage 1 with the nearest-examples signal against the same agents without it, interleaved in one run."""
    config = RoutingConfig()
    without = HybridIndex(replace(config, fusion={**config.fusion, "examples": 0.0}), shared_embedder())
    without.rebuild(index.agents(), index.vectors())
    queries = typical_queries(len(index), 300)
    with_examples, reference = [], []
    for _ in range(3):
        for query in queries:  # interleaved, so both see the same machine
            started = time.perf_counter()
            index.score(query, "agent_00001")
            with_examples.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            without.score(query, "agent_00001")
            reference.append((time.perf_counter() - started) * 1000)
    ours, base = statistics.median(with_examples), statistics.median(reference)
    return {
        "with_examples_p50_ms": round(ours, 4),
        "without_examples_p50_ms": round(base, 4),
        "ratio": round(ours / base, 3),
    }


def bm25_against_bm25s(agent_count: int = 10_000) -> dict[str, Any]:
    """Top-10 BM25 latency at `agent_count` documents: this project's incremental index against bm25s."""
    import bm25s  # type: ignore[import-untyped]  # a reference only: the bench's dev dependency, not the server's

    population = agents(agent_count)
    documents = [[w for text in agent_texts(a) for w in content_words(text)] for a in population]
    ours = LexicalIndex(1.2, 0.75)
    for slot, words in enumerate(documents):
        ours.put(slot, Counter(words))
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(documents, show_progress=False)
    queries = typical_queries(agent_count, 300)
    mine = measure(lambda q: ours.search(content_words(q), 10), queries)
    theirs = measure(
        lambda q: reference.retrieve([content_words(q)], k=10, show_progress=False, n_threads=1), queries
    )
    started = time.perf_counter()
    extra = LexicalIndex(1.2, 0.75)
    for slot, words in enumerate(documents[:1000]):
        extra.put(slot, Counter(words))
    put_ms = (time.perf_counter() - started) / 1000 * 1000
    return {
        "ours_p50_ms": round(mine["p50"], 4),
        "bm25s_p50_ms": round(theirs["p50"], 4),
        "ours_put_one_document_ms": round(put_ms, 4),
        "bm25s_note": "bm25s has no incremental update: every registration would re-index the whole corpus",
    }


def run() -> dict[str, Any]:
    """Hybrid latency at 100 / 1,000 / 10,000 agents (20 examples each), by query words, and references."""
    by_size = {}
    indexes: dict[int, HybridIndex] = {}
    for size in (100, 1000, 10_000):
        index = indexes[size] = build_index(size)
        by_size[size] = measure(partial(index.score, last_agent="agent_00001"), typical_queries(size))
    big = indexes[10_000]
    by_words = {
        words: measure(lambda q: big.score(q, "agent_00001"), query_of_words(words, 10_000))
        for words in (2, 8, 32)
    }
    typed = CapabilityIndex(RoutingConfig())
    typed.rebuild(big.agents())
    typed_only = measure(lambda q: typed.score(q, "agent_00001"), typical_queries(10_000))
    register = registration_ms(indexes[1000])
    return {
        "by_agents": by_size,
        "by_query_words_at_10000_agents": by_words,
        "typed_only_at_10000_agents": typed_only,
        "register_50_examples_at_1000_agents": register,
        "memory_per_agent_kb": round(memory_per_agent_kb(), 2),
        "semantic_top20_at_10000_agents": semantic_top_against_full_product(big),
        "examples_signal_at_10000_agents": examples_signal_cost(big),
        "bm25_at_10000_agents": bm25_against_bm25s(),
    }
