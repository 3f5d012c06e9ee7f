"""How sure stage 1 is that some agent answers: a calibrated mix of the best relevance and its support."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from registry_server.routing.hybrid_index import Ranked

# The agents whose semantic similarity is looked at: the few best by fused relevance.
SEMANTIC_POOL = 5


def confidence(ranked: Sequence[Ranked], weights: Mapping[str, float]) -> float:
    """The weighted sum of the best relevance, its lead over the second, and the semantic and typed support.

    An out-of-scope query tends to have a low best relevance, a near tie for first place and no agent with
    a clearly similar meaning; each signal alone separates it less well than their sum.
    """
    if not ranked:
        return 0.0
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    signals = {
        "relevance": best.score,
        "margin": best.score - second,
        "semantic": best.semantic_score,
        "best_semantic": max(r.semantic_score for r in ranked[:SEMANTIC_POOL]),
        "capability": best.capability_score,
        "context": float(best.context),
    }
    return sum(weights.get(name, 0.0) * value for name, value in signals.items())
