"""Splits a request that asks for several things into its clauses, so each can be routed on its own."""

from __future__ import annotations

import re

from registry_server.routing.text import content_words

# Sentence ends, and the joins that start a new request: "..., and also ...", "Also, ...", "... then ...".
_QUESTION = (
    r"(?:who|what|when|where|which|why|how|is|are|can|could|will|would|do|does|did|should|please|also)"
)
_OBJECT = r"(?:a|an|the|my|our|your|me|us|some|all|any|this|that|these|those|it|them|up|out)"
# Sentence ends or commas before "also"/"additionally"/"then"; and "and" where a new request starts: a
# question word ("and who is on call") or a verb with its object ("and book a room"). "specific and detailed
# tips" or "tickets and courses" stay whole.
_BOUNDARY = re.compile(
    r"(?:(?<=[.?!;])|,)?\s+\b(?:and then|and also|as well as|additionally|also|plus|then)\b,?\s+"
    rf"|,?\s+\band\b\s+(?=(?:{_QUESTION}\b|[a-z]+\s+{_OBJECT}\b))",
    re.IGNORECASE,
)
_LEADING_JOIN = re.compile(r"^(?:and|also|additionally|plus|then)\b,?\s*", re.IGNORECASE)
# A clause needs this many content words to be routed on its own ("tickets and courses" is one list).
MIN_CLAUSE_WORDS = 2


def split_clauses(query: str) -> list[str]:
    """The query's clauses; a part too short to be a request of its own stays with its neighbour."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in _BOUNDARY.finditer(query):
        spans.append((start, boundary.start()))
        start = boundary.end()
    spans.append((start, len(query)))
    merged: list[tuple[int, int]] = []
    for begin, end in spans:
        if not query[begin:end].strip(" ,"):
            continue
        if merged and (_short(query, merged[-1]) or _short(query, (begin, end))):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return [_LEADING_JOIN.sub("", query[begin:end].strip(" ,")) for begin, end in merged]


def _short(query: str, span: tuple[int, int]) -> bool:
    return len(content_words(query[span[0] : span[1]])) < MIN_CLAUSE_WORDS
