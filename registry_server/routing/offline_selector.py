"""The deterministic stage-2 selector used without Gemini, or when Gemini fails."""

from __future__ import annotations

from collections.abc import Sequence

from registry_server.domain.routing import Candidate, Selection
from registry_server.routing.text import separators, tokens

# Words that may stand between two subjects of one list: "tickets and courses", "my tickets, my courses".
LIST_GLUE = frozenset(
    {"and", "or", "plus", "also", "both", "as", "well", "my", "the", "all", "our", "your", "me", "a", "any"}
)
# What makes a run of glue a list rather than two adjacent nouns ("my card's interest rate" is not a list).
CONJUNCTIONS = frozenset({"and", "or", "plus"})


class OfflineSelector:
    """Picks the best candidate, each clause's agent, and the agents whose subjects the query lists.

    The best relevance leads; a clause of a multi-part request adds its own agent; a subject joined to a
    chosen one by a conjunction or a comma ("tickets and courses") joins when its capability score is within
    `margin` of the best named one. "a ticket about the billing course" stays with tickets.
    """

    def __init__(self, margin: float) -> None:
        self._margin = margin

    def select(
        self, candidates: Sequence[Candidate], query: str, clause_picks: Sequence[int] = ()
    ) -> Selection:
        """Indices of the chosen candidates with the reasoning; the candidates are sorted best first."""
        if len(set(clause_picks)) >= 2:
            chosen = list(dict.fromkeys(clause_picks))
            chosen = _in_query_order(candidates, chosen + self._listed(candidates, query, chosen))
            names = ", ".join(candidates[i].agent_name for i in chosen)
            return Selection(tuple(chosen), reasoning=f"each part of the request has its own agent: {names}")
        listed = self._listed(candidates, query, [0])
        if listed:
            ordered = _in_query_order(candidates, [0, *listed])
            names = ", ".join(candidates[i].agent_name for i in ordered)
            return Selection(
                tuple(ordered), reasoning=f"the query lists the subjects of several agents: {names}"
            )
        best = candidates[0].agent_name
        return Selection(
            (0,), reasoning=f"{best} has the best relevance; other matches are weaker or incidental"
        )

    def _listed(self, candidates: Sequence[Candidate], query: str, chosen: list[int]) -> list[int]:
        """Further explicit candidates joined to a chosen one's subject by list glue with a conjunction."""
        named = [i for i, c in enumerate(candidates) if c.explicit]
        if not any(i in named for i in chosen):
            return []
        words, gaps = tokens(query), separators(query)
        best_named = max(candidates[i].term_score for i in named)
        members = [i for i in chosen if i in named]
        added: list[int] = []
        grew = True
        while grew:
            grew = False
            for index in named:
                if index in members or index in chosen:
                    continue
                if candidates[index].term_score < best_named - self._margin:
                    continue
                if any(_joined(candidates[m], candidates[index], words, gaps) for m in members):
                    members.append(index)
                    added.append(index)
                    grew = True
        return added


def _in_query_order(candidates: Sequence[Candidate], chosen: list[int]) -> list[int]:
    """The chosen indices in the order the query names their subjects; unnamed ones keep their place last."""
    named = sorted(
        (i for i in chosen if candidates[i].explicit), key=lambda i: candidates[i].subject_mentions[0]
    )
    return named + [i for i in chosen if not candidates[i].explicit]


def _joined(first: Candidate, second: Candidate, words: Sequence[str], gaps: Sequence[str]) -> bool:
    """True when the two candidates' subjects are consecutive items of a list in the query."""
    a, b = set(first.subject_mentions), set(second.subject_mentions)
    if a & b:
        return False
    left, right = (a, b) if min(a) < min(b) else (b, a)
    start, end = max(left) + 1, min(right)
    if start > end or any(position in right for position in range(start, end)):
        return False
    between = words[start:end]
    if not all(word in LIST_GLUE for word in between):
        return False
    comma = any("," in gaps[position] or "&" in gaps[position] for position in range(start, end + 1))
    return comma or any(word in CONJUNCTIONS for word in between)
