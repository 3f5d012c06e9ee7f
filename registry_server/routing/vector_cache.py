"""The agents' vectors kept beside the registry, so a restart does not embed every example again."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from registry_server.routing.example_index import QuantizedRows
from registry_server.routing.hybrid_index import AgentVectors

log = logging.getLogger(__name__)

VECTOR_CACHE_FILE_NAME = "routing_vectors.npz"
# Bump when the way an agent's vector is computed changes: older caches are then ignored.
CACHE_VERSION = "wordllama-l2_supercat_256-mean-examples8-v3"


def fingerprint(texts: Sequence[str]) -> str:
    """A digest of the texts an agent's vector is computed from (and of how it is computed)."""
    # One digest of the texts' repr: unambiguous, and one call rather than one per text.
    digest = hashlib.blake2b(CACHE_VERSION.encode(), digest_size=16)
    digest.update(repr(list(texts)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class VectorCache:
    """A numpy file of (name, fingerprint, vectors); only an optimisation: any doubt means recompute.

    Each agent's mean vector is one row of `vectors`; its example vectors are its `example_counts` rows of
    `example_vectors` (8-bit, with `example_scales`, as the index keeps them), in name order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, tuple[str, AgentVectors]]:
        """The cached vectors by agent name, with their fingerprints; empty when absent or unreadable."""
        if not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["version"]) != CACHE_VERSION:
                    return {}
                names, prints = data["names"].tolist(), data["fingerprints"].tolist()
                # One contiguous float32 matrix; each agent's vector is a view of its row.
                matrix = np.ascontiguousarray(data["vectors"], dtype=np.float32)
                counts, integers, scales = (
                    data["example_counts"],
                    data["example_vectors"],
                    data["example_scales"],
                )
                ends = np.cumsum(counts)
                total = int(ends[-1]) if len(ends) else 0
                if len(matrix) != len(names) or len(counts) != len(names):
                    raise ValueError(f"{len(names)} names for {len(matrix)} vectors and {len(counts)} counts")
                if total != len(integers) or total != len(scales):
                    raise ValueError("example vectors do not match their counts")
                return {
                    name: (
                        digest,
                        AgentVectors(
                            matrix[row],
                            QuantizedRows(
                                integers[ends[row] - counts[row] : ends[row]],
                                scales[ends[row] - counts[row] : ends[row]],
                            ),
                        ),
                    )
                    for row, (name, digest) in enumerate(zip(names, prints, strict=True))
                }
        except (OSError, ValueError, KeyError, IndexError) as error:
            log.warning("ignoring the routing vector cache %s (%s); vectors are recomputed", self.path, error)
            return {}

    def save(self, entries: Mapping[str, tuple[str, AgentVectors]]) -> None:
        """Replaces the file atomically; a failure is logged, never raised (the cache is optional)."""
        names = sorted(entries)
        matrix = np.stack([entries[n][1].mean for n in names]) if names else np.zeros((0, 0), np.float32)
        width = matrix.shape[1]
        examples = [entries[n][1].examples for n in names]
        counts = np.fromiter((len(rows) for rows in examples), np.int64, len(examples))
        integers = np.concatenate(
            [rows.integers.reshape(-1, width) for rows in examples] or [np.zeros((0, width), np.int8)]
        )
        scales = np.concatenate([rows.scales for rows in examples] or [np.zeros(0, np.float32)])
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            with temporary.open("wb") as handle:
                np.savez(
                    handle,
                    version=np.array(CACHE_VERSION),
                    names=np.array(names, dtype=str),
                    fingerprints=np.array([entries[n][0] for n in names], dtype=str),
                    vectors=matrix,
                    example_vectors=integers.astype(np.int8),
                    example_scales=scales.astype(np.float32),
                    example_counts=counts,
                )
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("could not save the routing vector cache %s: %s", self.path, error)
