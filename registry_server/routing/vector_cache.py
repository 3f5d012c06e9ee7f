"""The agents' vectors kept beside the registry, so a restart does not embed every example again."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from registry_server.routing.embedder import Vectors

log = logging.getLogger(__name__)

VECTOR_CACHE_FILE_NAME = "routing_vectors.npz"
# Bump when the way an agent's vector is computed changes: older caches are then ignored.
CACHE_VERSION = "wordllama-l2_supercat_256-mean-v2"


def fingerprint(texts: Sequence[str]) -> str:
    """A digest of the texts an agent's vector is computed from (and of how it is computed)."""
    # One digest of the texts' repr: unambiguous, and one call rather than one per text.
    digest = hashlib.blake2b(CACHE_VERSION.encode(), digest_size=16)
    digest.update(repr(list(texts)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class VectorCache:
    """A numpy file of (name, fingerprint, vector); only an optimisation: any doubt means recompute."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, tuple[str, Vectors]]:
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
                if len(matrix) != len(names):
                    raise ValueError(f"{len(names)} names for {len(matrix)} vectors")
                return {
                    name: (digest, matrix[row])
                    for row, (name, digest) in enumerate(zip(names, prints, strict=True))
                }
        except (OSError, ValueError, KeyError) as error:
            log.warning("ignoring the routing vector cache %s (%s); vectors are recomputed", self.path, error)
            return {}

    def save(self, entries: Mapping[str, tuple[str, Vectors]]) -> None:
        """Replaces the file atomically; a failure is logged, never raised (the cache is optional)."""
        names = sorted(entries)
        matrix = np.stack([entries[n][1] for n in names]) if names else np.zeros((0, 0), np.float32)
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            with temporary.open("wb") as handle:
                np.savez(
                    handle,
                    version=np.array(CACHE_VERSION),
                    names=np.array(names, dtype=str),
                    fingerprints=np.array([entries[n][0] for n in names], dtype=str),
                    vectors=matrix,
                )
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("could not save the routing vector cache %s: %s", self.path, error)
