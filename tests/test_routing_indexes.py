"""The semantic and lexical indexes' shortcuts give the same answers as the plain computation."""

from __future__ import annotations

import numpy as np
import pytest

from registry_server.routing.lexical_index import LexicalIndex
from registry_server.routing.semantic_index import SemanticIndex


def unit_rows(count: int, dimensions: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)
    normalised: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def test_semantic_top_k_finds_the_nearest_row_and_scores_it_exactly() -> None:
    rows = unit_rows(2000, 256, seed=1)
    index = SemanticIndex()
    for slot, row in enumerate(rows):
        index.put(slot, row)
    for target in (3, 700, 1999):
        query = rows[target] + 0.05 * unit_rows(1, 256, seed=target)[0]
        query /= np.linalg.norm(query)
        best = index.top(query, 5)
        assert target in best.tolist()
        exact = index.similarities(query, best)
        assert int(best[int(np.argmax(exact))]) == target
        assert index.similarities(query, np.array([target])).tolist() == pytest.approx(
            [float(rows[target] @ query)], abs=1e-5
        )


def test_a_removed_row_is_never_found() -> None:
    rows = unit_rows(300, 256, seed=2)
    index = SemanticIndex()
    for slot, row in enumerate(rows):
        index.put(slot, row)
    index.remove(42)
    assert 42 not in index.top(rows[42], 10).tolist()


def test_lexical_scores_stay_exact_as_documents_come_and_go() -> None:
    documents = {
        0: {"refund": 2, "invoice": 1},
        1: {"invoice": 1, "printer": 3, "toner": 1},
        2: {"refund": 1, "flight": 1},
    }
    index = LexicalIndex(1.2, 0.75)
    for slot, counts in documents.items():
        index.put(slot, counts)
    index.search(["refund", "invoice"], 3)  # fills the per-term caches
    documents[3] = {"refund": 1, "invoice": 4, "hotel": 1, "car": 2}
    index.put(3, documents[3])
    index.remove(1)
    del documents[1]
    fresh = LexicalIndex(1.2, 0.75)
    for slot, counts in documents.items():
        fresh.put(slot, counts)
    cached, rebuilt = index.search(["refund", "invoice"], 3), fresh.search(["refund", "invoice"], 3)
    assert cached.scores[:4].tolist() == pytest.approx(rebuilt.scores[:4].tolist())
    assert set(cached.top.tolist()) == set(rebuilt.top.tolist()) == {0, 2, 3}
