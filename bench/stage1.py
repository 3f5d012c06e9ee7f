"""Stage-1 routing in process: latency at several registry sizes, and how it grows with the query."""

from __future__ import annotations

import gc
import random
import statistics
import time
from typing import Any

from bench.seed import synthetic_agents
from registry_server.domain.agent import AgentState, RegisteredAgent
from registry_server.routing.capability_index import CapabilityIndex
from registry_server.routing.config import RoutingConfig


def build_index(agent_count: int) -> CapabilityIndex:
    """An index over `agent_count` synthetic agents, frozen out of the GC's way as the server does."""
    index = CapabilityIndex(RoutingConfig())
    index.rebuild(RegisteredAgent(spec, "e", AgentState.AVAILABLE) for spec in synthetic_agents(agent_count))
    gc.collect()
    gc.freeze()
    return index


def measure(index: CapabilityIndex, queries: list[str], repeat: int = 3) -> dict[str, Any]:
    """p50/p99 in ms of scoring each query, `repeat` times over."""
    samples = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            index.score(query, "agent_00001")
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


def run() -> dict[str, Any]:
    """Latency at 100 / 1,000 / 10,000 agents, and at 10,000 agents for 2 / 8 / 32-word queries."""
    by_size = {}
    indexes = {}
    for size in (100, 1000, 10_000):
        indexes[size] = build_index(size)
        by_size[size] = measure(indexes[size], typical_queries(size))
    by_words = {words: measure(indexes[10_000], query_of_words(words, 10_000)) for words in (2, 8, 32)}
    return {"by_agents": by_size, "by_query_words_at_10000_agents": by_words}
