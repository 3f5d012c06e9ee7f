"""Nearest-example similarity: how close a query is to an agent's own sample requests, not only to their mean.

An agent's mean vector blurs its examples together; a query phrased like one of them is better recognised by
its similarity to the closest few. Each agent's example vectors are kept at half precision (the similarity
needs no more) and looked at only for the agents other signals retrieved, so a query's cost follows its pool.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from registry_server.routing.embedder import Vectors

Slots = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]


class ExampleIndex:
    """Each slot's example vectors (unit rows, float16); scores a query by its `nearest` closest examples."""

    def __init__(self, nearest: int) -> None:
        self._nearest = max(1, nearest)
        self._rows: dict[int, npt.NDArray[np.float16]] = {}

    def put(self, slot: int, examples: Vectors) -> None:
        """Stores the example vectors of `slot` (one row each; none for an agent without examples)."""
        if len(examples):
            self._rows[slot] = np.ascontiguousarray(examples, dtype=np.float16)
        else:
            self._rows.pop(slot, None)

    def remove(self, slot: int) -> None:
        """Forgets the example vectors of `slot`."""
        self._rows.pop(slot, None)

    def examples(self, slot: int) -> Vectors:
        """The stored example vectors of `slot` (no rows when it has none)."""
        rows = self._rows.get(slot)
        return np.zeros((0, 0), np.float32) if rows is None else rows.astype(np.float32)

    def similarities(self, query: Vectors, slots: Slots, fallback: Floats) -> Floats:
        """Each slot's mean similarity to its `nearest` closest examples; `fallback` where it has none."""
        result = np.array(fallback, dtype=np.float32, copy=True)
        nearest = self._nearest
        for position, slot in enumerate(slots.tolist()):
            rows = self._rows.get(slot)
            if rows is None:
                continue
            scores = rows.astype(np.float32) @ query
            if len(scores) > nearest:
                scores = np.partition(scores, -nearest)[-nearest:]
            result[position] = float(scores.mean())
        return result
