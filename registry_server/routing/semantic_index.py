"""Semantic similarity: unit vectors, one row per slot; top-k by a matrix-vector product on a narrow copy.

The embedding model is trained so that a vector's leading dimensions are an embedding of their own
(Matryoshka-style). A query's top-k is found on a copy holding only those leading dimensions (half
of the bytes, so the product reads far less memory), with a generous shortlist, then the shortlist is
scored exactly on the full vectors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from registry_server.routing.embedder import Vectors

Slots = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]
# Leading dimensions kept in the narrow copy, and how many times k it shortlists for exact scoring.
COARSE_DIMENSIONS = 128
SHORTLIST_FACTOR = 5


class SemanticIndex:
    """The agents' vectors, computed once at registration, in one growable matrix and its narrow copy."""

    def __init__(self) -> None:
        self._matrix = np.zeros((0, 0), np.float32)  # sized by the first vector stored
        self._coarse = np.zeros((0, 0), np.float32)
        self._used = 0  # rows past this were never used

    def put(self, slot: int, vector: Vectors) -> None:
        """Stores the vector of `slot`."""
        if not self._matrix.size:
            rows = max(64, slot + 1)
            self._matrix = np.zeros((rows, len(vector)), np.float32)
            self._coarse = np.zeros((rows, min(COARSE_DIMENSIONS, len(vector))), np.float32)
        if slot >= len(self._matrix):
            rows = max(slot + 1, 2 * len(self._matrix))
            self._matrix = _grown(self._matrix, rows)
            self._coarse = _grown(self._coarse, rows)
        self._matrix[slot] = vector
        self._coarse[slot] = _unit(vector[: self._coarse.shape[1]])
        self._used = max(self._used, slot + 1)

    def remove(self, slot: int) -> None:
        """Clears the vector of `slot` (a zero row is similar to nothing)."""
        self._matrix[slot] = 0.0
        self._coarse[slot] = 0.0

    def vector(self, slot: int) -> Vectors:
        """The stored vector of `slot`."""
        row: Vectors = self._matrix[slot]
        return row

    def similarities(self, query: Vectors, slots: Slots) -> Floats:
        """The exact cosine similarity of each of `slots` to the (unit) query vector."""
        if not len(slots):
            return np.zeros(0, np.float32)
        result: Floats = self._matrix[slots] @ query
        return result

    def top(self, query: Vectors, k: int) -> Slots:
        """The used slots of the k highest similarities to the (unit) query vector (unordered)."""
        used = self._used
        if used <= k:
            return np.arange(used)
        shortlist_size = k * SHORTLIST_FACTOR
        if used <= shortlist_size:
            shortlist: Slots = np.arange(used)
        else:
            coarse = self._coarse[:used] @ _unit(query[: self._coarse.shape[1]])
            shortlist = np.argpartition(coarse, -shortlist_size)[-shortlist_size:]
        exact = self.similarities(query, shortlist)
        best: Slots = shortlist[np.argpartition(exact, -k)[-k:]]
        return best


def _grown(matrix: Floats, rows: int) -> Floats:
    grown = np.zeros((rows, matrix.shape[1]), np.float32)
    grown[: len(matrix)] = matrix
    return grown


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
