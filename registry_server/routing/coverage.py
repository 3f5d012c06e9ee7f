"""A second agent for a request that asks two things without a clause boundary: coverage by query windows.

The best agent explains part of the query; a runner-up joins when some window of the query's content words
ranks it clearly above the best agent there, i.e. when part of the request is about something else.
"""

from __future__ import annotations

from registry_server.routing.config import RoutingConfig
from registry_server.routing.hybrid_index import HybridIndex, Ranked
from registry_server.routing.text import content_words


def query_windows(query: str, size: int, stride: int) -> list[str]:
    """Overlapping windows of `size` content words, `stride` apart, covering the whole query."""
    words = content_words(query)
    if len(words) <= size:
        return [" ".join(words)] if words else []
    starts = list(range(0, len(words) - size + 1, stride))
    if starts[-1] + size < len(words):
        starts.append(len(words) - size)
    return [" ".join(words[start : start + size]) for start in starts]


def uncovered_agent(index: HybridIndex, query: str, ranked: list[Ranked], config: RoutingConfig) -> str:
    """The runner-up that a part of the query supports far better than the best agent, or ""."""
    if len(ranked) < 2 or len(content_words(query)) < config.coverage_min_words:
        return ""
    best = ranked[0]
    rivals = [r for r in ranked[1 : config.coverage_rivals] if r.score >= best.score * config.coverage_ratio]
    if not rivals:
        return ""
    windows = [
        {r.agent_name: r.score for r in index.rank(window).entries}
        for window in query_windows(query, config.coverage_window, config.coverage_stride)
    ]
    support: dict[str, float] = {}
    for rival in rivals:
        leads = [
            scores[rival.agent_name] - scores.get(best.agent_name, 0.0)
            for scores in windows
            if scores.get(rival.agent_name, 0.0) >= config.coverage_threshold
        ]
        if leads and max(leads) >= config.coverage_margin:
            support[rival.agent_name] = max(leads)
    return max(support, key=lambda name: support[name]) if support else ""
