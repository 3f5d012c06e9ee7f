"""Lexical relevance: an incremental inverted-index BM25 whose query cost follows the query's postings."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Slots = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LexicalHits:
    """BM25 of the query for every slot (0 where no query word occurs), normalised by its best possible."""

    scores: Floats
    top: Slots
    idf: dict[str, float]


class LexicalIndex:
    """BM25 (Okapi, k1 and b) over one bag of words per slot, updated one document at a time.

    Postings are dicts for cheap updates; each term's numpy arrays are rebuilt lazily, when first queried
    after a change, so a query costs a few vector operations per query term.
    """

    def __init__(self, k1: float, b: float) -> None:
        self._k1 = k1
        self._b = b
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[Slots, Floats]] = {}
        self._terms_of: dict[int, tuple[str, ...]] = {}
        self._lengths = np.zeros(64, np.float64)
        self._total_length = 0.0
        # Each term's term-frequency factors, valid for `_weights_average` (any change of length clears them).
        self._weights: dict[str, Floats] = {}
        self._weights_average = 0.0

    def __len__(self) -> int:
        return len(self._terms_of)

    def put(self, slot: int, counts: Mapping[str, int]) -> None:
        """Indexes the document of `slot`, given as word counts (replacing what it held)."""
        self.remove(slot)
        if slot >= len(self._lengths):
            self._lengths = np.concatenate((self._lengths, np.zeros(max(slot + 1, len(self._lengths)))))
        length = float(sum(counts.values()))
        self._lengths[slot] = length
        self._total_length += length
        self._terms_of[slot] = tuple(counts)
        for term, count in counts.items():
            self._postings.setdefault(term, {})[slot] = count
            self._arrays.pop(term, None)
            self._weights.pop(term, None)

    def remove(self, slot: int) -> None:
        """Forgets the document of `slot`."""
        terms = self._terms_of.pop(slot, None)
        if terms is None:
            return
        self._total_length -= self._lengths[slot]
        self._lengths[slot] = 0.0
        for term in terms:
            posting = self._postings[term]
            del posting[slot]
            if not posting:
                del self._postings[term]
            self._arrays.pop(term, None)
            self._weights.pop(term, None)

    def search(self, words: Iterable[str], k: int) -> LexicalHits:
        """The normalised BM25 of every slot (0 to about 1) and the `k` best slots that matched at all.

        Each query term adds its postings' weights to one dense array in a single vector operation.
        """
        count = len(self._terms_of)
        scores = np.zeros(len(self._lengths))
        found = [(term, self._term_arrays(term)) for term in dict.fromkeys(words) if term in self._postings]
        if not found or not count:
            return LexicalHits(scores, np.zeros(0, np.int64), {})
        average = self._total_length / count
        if average != self._weights_average:
            self._weights.clear()
            self._weights_average = average
        k1 = self._k1
        idf: dict[str, float] = {}
        for term, (slots, _) in found:
            df = len(slots)
            idf[term] = math.log(1.0 + (count - df + 0.5) / (df + 0.5))
            scores[slots] += idf[term] * self._term_weights(term, average)
        scores /= sum(idf.values()) * (k1 + 1.0)
        # Partition only the touched slots: the untouched zeros are ties that make a partition crawl.
        touched = np.flatnonzero(scores)
        top = touched if len(touched) <= k else touched[np.argpartition(scores[touched], -k)[-k:]]
        return LexicalHits(scores, top, idf)

    def _term_weights(self, term: str, average: float) -> Floats:
        """The term's BM25 term-frequency factor per posting, kept until the average length changes."""
        weights = self._weights.get(term)
        if weights is None:
            slots, frequencies = self._term_arrays(term)
            k1, b = self._k1, self._b
            norm = k1 * (1.0 - b + b * self._lengths[slots] / average)
            weights = self._weights[term] = frequencies * (k1 + 1.0) / (frequencies + norm)
        return weights

    def _term_arrays(self, term: str) -> tuple[Slots, Floats]:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self._postings[term]
            arrays = (
                np.fromiter(posting.keys(), np.int64, len(posting)),
                np.fromiter(posting.values(), np.float64, len(posting)),
            )
            self._arrays[term] = arrays
        return arrays

    def matched_terms(self, slot: int, idf: dict[str, float]) -> list[str]:
        """The query terms (of a search's `idf`) that the document of `slot` contains, rarest first."""
        return sorted((term for term in idf if slot in self._postings.get(term, {})), key=lambda t: -idf[t])
