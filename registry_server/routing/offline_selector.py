"""The deterministic stage-2 selector used without Gemini, or when Gemini fails."""

from __future__ import annotations

from collections.abc import Sequence

from registry_server.domain.routing import Candidate, Selection

# Words that may stand between two subjects of one list: "tickets and courses", "my tickets, my courses".
LIST_GLUE = frozenset(
    {"and", "or", "plus", "also", "both", "as", "well", "my", "the", "all", "our", "your", "me"}
)


class OfflineSelector:
    """Picks the agents whose subjects (domains or entities) the query names as a list.

    The first subject named is the request's head. Each further subject joins only when the words between
    it and the previous one are list glue ("tickets and courses") and its score is within `margin` of the
    best; "a ticket about the billing course" stays with tickets. With no subject named, the best
    candidate alone answers (e.g. a follow-up carried by the context boost).
    """

    def __init__(self, margin: float) -> None:
        self._margin = margin

    def select(self, candidates: Sequence[Candidate], words: Sequence[str]) -> Selection:
        """Indices of the chosen candidates, in the order the query names them, with the reasoning."""
        named = sorted(
            (i for i, c in enumerate(candidates) if c.explicit),
            key=lambda i: candidates[i].subject_mentions[0],
        )
        if not named:
            reasoning = "no agent's domain or entity is named in the query; chose the best score"
            return Selection((0,), reasoning=f"{reasoning} ({candidates[0].agent_name})")
        best_score = max(candidates[i].score for i in named)
        chosen = [named[0]]
        for index in named[1:]:
            previous_end = max(candidates[chosen[-1]].subject_mentions)
            start = candidates[index].subject_mentions[0]
            in_list = all(word in LIST_GLUE for word in words[previous_end + 1 : start])
            if not in_list:
                break
            if candidates[index].score >= best_score - self._margin:
                chosen.append(index)
        names = ", ".join(candidates[i].agent_name for i in chosen)
        if len(chosen) > 1:
            return Selection(
                tuple(chosen), reasoning=f"the query lists the subjects of several agents: {names}"
            )
        return Selection(tuple(chosen), reasoning=f"the query is about {names}; other matches are incidental")
