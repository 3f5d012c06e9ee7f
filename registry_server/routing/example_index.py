"""Nearest-example similarity: how close a query is to an agent's own sample requests, not only to their mean.

An agent's mean vector blurs its examples together; a query phrased like one of them is better recognised by
its similarity to the closest few. Each agent's example vectors are kept as 8-bit integers with one scale per
row (a quarter of the bytes; the similarity moves by about 0.002, and unlike half precision they widen to
float32 at memory speed), and are looked at only for the agents other signals retrieved, so a query's cost
follows its pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from registry_server.routing.embedder import Vectors

Slots = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]


Quantized = npt.NDArray[np.int8]
# The largest magnitude of a row maps to this integer.
_LEVELS = 127.0


@dataclass(frozen=True)
class QuantizedRows:
    """Vectors as 8-bit integers, one row each, with each row's scale back to its values."""

    integers: Quantized
    scales: Floats

    def __len__(self) -> int:
        return len(self.integers)


NO_ROWS = QuantizedRows(np.zeros((0, 0), np.int8), np.zeros(0, np.float32))


def quantized(rows: Vectors) -> QuantizedRows:
    """The rows as 8-bit integers with a scale each (to within half a step of the scale)."""
    scales = np.abs(rows).max(axis=1, initial=0.0) / _LEVELS
    scales[scales == 0] = 1.0
    integers: Quantized = np.rint(rows / scales[:, None]).astype(np.int8)
    return QuantizedRows(integers, scales.astype(np.float32))


def restored(rows: QuantizedRows) -> Vectors:
    """The vectors that `quantized` encoded."""
    vectors: Vectors = rows.integers.astype(np.float32) * rows.scales[:, None]
    return vectors


class ExampleIndex:
    """Each slot's example vectors (unit rows, 8-bit); scores a query by its `nearest` closest examples."""

    def __init__(self, nearest: int) -> None:
        self._nearest = max(1, nearest)
        self._rows: dict[int, QuantizedRows] = {}

    def put(self, slot: int, examples: QuantizedRows) -> None:
        """Stores the example vectors of `slot` (one row each; none for an agent without examples)."""
        if len(examples):
            self._rows[slot] = examples
        else:
            self._rows.pop(slot, None)

    def remove(self, slot: int) -> None:
        """Forgets the example vectors of `slot`."""
        self._rows.pop(slot, None)

    def examples(self, slot: int) -> QuantizedRows:
        """The stored example vectors of `slot` (no rows when it has none)."""
        return self._rows.get(slot, NO_ROWS)

    def similarities(self, query: Vectors, slots: Slots, fallback: Floats) -> Floats:
        """Each slot's mean similarity to its `nearest` closest examples; `fallback` where it has none.

        The slots' example rows are scored in one product, then ranked within each slot in one sort.
        """
        result = np.array(fallback, dtype=np.float32, copy=True)
        present = [
            (position, rows)
            for position, slot in enumerate(slots.tolist())
            if (rows := self._rows.get(slot)) is not None
        ]
        if not present:
            return result
        positions = np.fromiter((position for position, _ in present), np.int64, len(present))
        counts = np.fromiter((len(rows) for _, rows in present), np.int64, len(present))
        integers = np.concatenate([rows.integers for _, rows in present]).astype(np.float32)
        scores = (integers @ query) * np.concatenate([rows.scales for _, rows in present])
        owner = np.repeat(np.arange(len(present)), counts)
        order = np.lexsort((-scores, owner))
        rank = np.arange(len(scores)) - np.repeat(np.cumsum(counts) - counts, counts)
        kept = rank < self._nearest
        totals = np.bincount(owner[kept], weights=scores[order][kept], minlength=len(present))
        result[positions] = totals / np.minimum(counts, self._nearest)
        return result
