"""The deterministic stage-2 selector used without Gemini, or when Gemini fails."""

from __future__ import annotations

from collections.abc import Sequence

from registry_server.domain.routing import Candidate, Selection


class OfflineSelector:
    """Selects every agent the query names explicitly (a domain or entity term) that scores within
    `margin` of the best such agent; with no explicit match, the best candidate alone."""

    def __init__(self, margin: float) -> None:
        self._margin = margin

    def select(self, candidates: Sequence[Candidate]) -> Selection:
        """Indices of the chosen candidates, in candidate order, with the reasoning."""
        explicit = [index for index, candidate in enumerate(candidates) if candidate.explicit]
        if not explicit:
            reasoning = "no agent's domain or entity is named in the query; chose the best score"
            return Selection((0,), reasoning=f"{reasoning} ({candidates[0].agent_name})")
        best_score = candidates[explicit[0]].score
        chosen = tuple(i for i in explicit if candidates[i].score >= best_score - self._margin)
        names = ", ".join(candidates[i].agent_name for i in chosen)
        if len(chosen) > 1:
            reasoning = f"the query names the subjects of several agents: {names}"
        else:
            reasoning = f"the query names the subject of {names}; other matches are incidental"
        return Selection(chosen, reasoning=reasoning)
