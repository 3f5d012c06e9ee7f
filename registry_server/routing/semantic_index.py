"""Semantic similarity: a numpy matrix of unit vectors, one row per slot; top-k by a matrix-vector product."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from registry_server.routing.embedder import Vectors

Slots = npt.NDArray[np.int64]


class SemanticIndex:
    """The agents' vectors, computed once at registration, in one growable matrix."""

    def __init__(self) -> None:
        self._matrix = np.zeros((0, 0), np.float32)  # sized by the first vector stored
        self._used = 0  # rows past this were never used

    def put(self, slot: int, vector: Vectors) -> None:
        """Stores the vector of `slot`."""
        if not self._matrix.size:
            self._matrix = np.zeros((max(64, slot + 1), len(vector)), np.float32)
        if slot >= len(self._matrix):
            grown = np.zeros((max(slot + 1, 2 * len(self._matrix)), self._matrix.shape[1]), np.float32)
            grown[: len(self._matrix)] = self._matrix
            self._matrix = grown
        self._matrix[slot] = vector
        self._used = max(self._used, slot + 1)

    def remove(self, slot: int) -> None:
        """Clears the vector of `slot` (a zero row is similar to nothing)."""
        self._matrix[slot] = 0.0

    def vector(self, slot: int) -> Vectors:
        """The stored vector of `slot`."""
        row: Vectors = self._matrix[slot]
        return row

    def similarities(self, query: Vectors) -> npt.NDArray[np.float32]:
        """The cosine similarity of every used slot to the (unit) query vector."""
        if not self._used:
            return np.zeros(0, np.float32)
        result: npt.NDArray[np.float32] = self._matrix[: self._used] @ query
        return result

    @staticmethod
    def top(similarities: npt.NDArray[np.float32], k: int) -> Slots:
        """The slots of the k highest similarities (unordered)."""
        if len(similarities) <= k:
            return np.arange(len(similarities))
        return np.argpartition(similarities, -k)[-k:]
