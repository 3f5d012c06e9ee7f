"""ListAgents: filters, and pages of the agents in name order."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from registry_server.domain.agent import AgentState, RegisteredAgent
from registry_server.domain.errors import ValidationError
from registry_server.domain.paging import PageRequest


@dataclass(frozen=True)
class AgentFilter:
    """ListAgents filters; None or empty means no filter on that attribute."""

    tag: str = ""
    domain: str = ""
    enabled: bool | None = None
    state: AgentState | None = None

    def matches(self, agent: RegisteredAgent) -> bool:
        """True when the agent passes every filter that is set."""
        spec = agent.spec
        if self.tag and self.tag not in spec.tags:
            return False
        if self.domain and self.domain.casefold() not in {d.casefold() for d in spec.capabilities.domains}:
            return False
        if self.enabled is not None and spec.enabled != self.enabled:
            return False
        return self.state is None or agent.state is self.state


@dataclass(frozen=True)
class AgentPage:
    """One page of a listing, the cursor of the next page (None on the last) and the total match count."""

    agents: list[RegisteredAgent]
    next_cursor: str | None
    total_size: int


def page_of(
    sorted_names: Sequence[str],
    agents: Mapping[str, RegisteredAgent],
    agent_filter: AgentFilter,
    page: PageRequest,
) -> AgentPage:
    """One page of the agents that match `agent_filter`, in name order, after `page.cursor`."""
    if page.cursor is not None and not isinstance(page.cursor, str):
        raise ValidationError.single("page_token", "is not a token of ListAgents")
    start = bisect.bisect_right(sorted_names, page.cursor) if page.cursor else 0
    matched: list[RegisteredAgent] = []
    total = matched_after_cursor = 0
    for index, name in enumerate(sorted_names):
        agent = agents[name]
        if not agent_filter.matches(agent):
            continue
        total += 1
        if index >= start:
            matched_after_cursor += 1
            if len(matched) < page.size:
                matched.append(agent)
    has_more = matched_after_cursor > len(matched)
    return AgentPage(matched, matched[-1].name if has_more else None, total)
