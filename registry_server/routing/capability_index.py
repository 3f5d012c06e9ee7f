"""The typed-capability score: an inverted index from normalised terms to agents, scored by kind weights."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.routing import Candidate, CapabilityKind
from registry_server.routing.config import RoutingConfig
from registry_server.routing.text import tokens

SUBJECT_KINDS = frozenset({CapabilityKind.DOMAIN, CapabilityKind.ENTITY})
KIND_ORDER = (CapabilityKind.DOMAIN, CapabilityKind.ENTITY, CapabilityKind.OPERATION, CapabilityKind.KEYWORD)
_KIND_LISTS = {
    CapabilityKind.DOMAIN: "domains",
    CapabilityKind.ENTITY: "entities",
    CapabilityKind.OPERATION: "operations",
    CapabilityKind.KEYWORD: "keywords",
}
_NOT_MENTIONED = 1 << 30


@dataclass
class TermGroup:
    """Every agent that has one normalised phrase as a term of one kind."""

    phrase: tuple[str, ...]
    kind: CapabilityKind
    agents: set[str]


@dataclass
class CapabilityMatch:
    """What of one agent's terms a query matched: distinct phrases per kind, and where its subjects are."""

    phrases: dict[CapabilityKind, set[tuple[str, ...]]] = field(default_factory=dict)
    subject_positions: list[int] = field(default_factory=list)
    covered: set[int] = field(default_factory=set)

    @property
    def term_count(self) -> int:
        """How many distinct terms matched."""
        return sum(len(phrases) for phrases in self.phrases.values())


@dataclass
class QueryMatches:
    """One query's matches: expanded per agent, plus common terms looked up per agent on demand."""

    expanded: dict[str, CapabilityMatch] = field(default_factory=dict)
    common: list[tuple[TermGroup, range]] = field(default_factory=list)
    _completed: set[str] = field(default_factory=set)

    def get(self, name: str) -> CapabilityMatch | None:
        """What of the agent's terms matched, or None."""
        if name not in self._completed:
            self._completed.add(name)
            for group, span in self.common:
                if name in group.agents:
                    _record(self.expanded.setdefault(name, CapabilityMatch()), group, span)
        return self.expanded.get(name)

    def names(self) -> list[str]:
        """Every agent matched, common terms included (expands them: for the typed index alone)."""
        for group, _ in self.common:
            for name in group.agents:
                self.get(name)
        return list(self.expanded)


def _record(match: CapabilityMatch, group: TermGroup, span: range) -> None:
    match.phrases.setdefault(group.kind, set()).add(group.phrase)
    match.covered.update(span)
    if group.kind in SUBJECT_KINDS:
        match.subject_positions.extend(span)


class CapabilityIndex:
    """Maps each term's first word to its term groups, so scoring costs follow the query, not the registry.

    Each kind scores its weight for its first matched term and `extra_term_weight` of it for each further
    distinct term, so several entity matches can outweigh one incidental domain word; ties break on evidence
    (terms matched, query words covered), then priority, then where the query names the agent, then name.
    """

    def __init__(self, config: RoutingConfig) -> None:
        self._config = config
        self._groups: dict[str, dict[tuple[tuple[str, ...], CapabilityKind], TermGroup]] = {}
        self._agents: dict[str, RegisteredAgent] = {}
        self._keys_of: dict[str, list[tuple[str, tuple[str, ...], CapabilityKind]]] = {}
        self._priority: dict[str, int] = {}
        self._terms_of: dict[str, list[tuple[CapabilityKind, tuple[str, ...], str]]] = {}

    def __len__(self) -> int:
        return len(self._agents)

    def rebuild(self, agents: Iterable[RegisteredAgent]) -> None:
        """Indexes every routable agent from scratch."""
        self._groups.clear()
        self._agents.clear()
        self._keys_of.clear()
        self._priority.clear()
        self._terms_of.clear()
        for agent in agents:
            self.put(agent)

    def put(self, agent: RegisteredAgent) -> None:
        """Indexes the agent (replacing what was indexed under its name); drops it if not routable."""
        self.remove(agent.name)
        if not agent.routable:
            return
        self._agents[agent.name] = agent
        self._priority[agent.name] = agent.spec.capabilities.priority
        keys = []
        terms = []
        for kind, list_name in _KIND_LISTS.items():
            for term in getattr(agent.spec.capabilities, list_name):
                phrase = tokens(term)
                if not phrase:
                    continue
                groups = self._groups.setdefault(phrase[0], {})
                group = groups.setdefault((phrase, kind), TermGroup(phrase, kind, set()))
                group.agents.add(agent.name)
                keys.append((phrase[0], phrase, kind))
                terms.append((kind, phrase, term))
        self._keys_of[agent.name] = keys
        self._terms_of[agent.name] = terms

    def remove(self, name: str) -> None:
        """Forgets the agent."""
        if self._agents.pop(name, None) is None:
            return
        del self._priority[name]
        del self._terms_of[name]
        for word, phrase, kind in self._keys_of.pop(name, ()):
            groups = self._groups.get(word)
            group = groups.get((phrase, kind)) if groups else None
            if groups is None or group is None:
                continue
            group.agents.discard(name)
            if not group.agents:
                del groups[(phrase, kind)]
                if not groups:
                    del self._groups[word]

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every indexed (routable) agent."""
        return self._agents.values()

    def agent(self, name: str) -> RegisteredAgent | None:
        """The indexed (routable) agent of that name."""
        return self._agents.get(name)

    def priority(self, name: str) -> int:
        """The agent's priority (0 when unknown)."""
        return self._priority.get(name, 0)

    def match(self, words: tuple[str, ...], expand_limit: int = 0) -> QueryMatches:
        """Every agent with a term in the normalised query words, and what matched.

        A term shared by more than `expand_limit` agents (when set) is not expanded agent by agent: it is
        looked up only for the agents asked about, so a common word costs nothing per agent it names.
        """
        found = QueryMatches()
        for position, word in enumerate(words):
            for group in self._groups.get(word, {}).values():
                phrase = group.phrase
                if len(phrase) > 1 and words[position : position + len(phrase)] != phrase:
                    continue
                span = range(position, position + len(phrase))
                if expand_limit and len(group.agents) > expand_limit:
                    found.common.append((group, span))
                    continue
                for name in group.agents:
                    _record(found.expanded.setdefault(name, CapabilityMatch()), group, span)
        return found

    def boosted(self, last_agent: str, found: QueryMatches) -> str:
        """The agent that gets the context boost, or "".

        The boost serves follow-ups ("show me the details"); it must not pull the last agent into a query that
        explicitly names another agent's subject and nothing of its own.
        """
        if last_agent not in self._agents:
            return ""
        named_others = any(
            m.subject_positions for name, m in found.expanded.items() if name != last_agent
        ) or any(g.kind in SUBJECT_KINDS and g.agents - {last_agent} for g, _ in found.common)
        if found.get(last_agent) is not None or not named_others:
            return last_agent
        return ""

    def value(self, match: CapabilityMatch | None, boosted: bool) -> float:
        """The typed score of a match: kind weights, further terms at a fraction, the boost; at most 1."""
        config = self._config
        score = config.context_boost if boosted else 0.0
        if match is not None:
            for kind, phrases in match.phrases.items():
                score += config.weights[kind] * (1.0 + config.extra_term_weight * (len(phrases) - 1))
        return round(min(score, 1.0), 6)

    def evidence_key(self, name: str, match: CapabilityMatch | None) -> tuple[int, int, int, int]:
        """Sorts equal scores: more terms matched, more query words covered, higher priority, named first."""
        if match is None:
            return (0, 0, -self.priority(name), _NOT_MENTIONED)
        first = min(match.subject_positions) if match.subject_positions else _NOT_MENTIONED
        return (-match.term_count, -len(match.covered), -self.priority(name), first)

    def score(self, query: str, last_agent: str = "") -> list[Candidate]:
        """The typed candidates for `query` alone (no lexical or semantic signal), best first."""
        words = tokens(query)
        found = self.match(words)
        boosted = self.boosted(last_agent, found)
        scored = {name: self.value(found.get(name), name == boosted) for name in found.names()}
        if boosted and boosted not in scored:
            scored[boosted] = self.value(None, True)
        eligible = [name for name, score in scored.items() if score >= self._config.min_score]
        chosen = heapq.nsmallest(
            self._config.top_k,
            eligible,
            key=lambda name: (-scored[name], self.evidence_key(name, found.get(name)), name),
        )
        return [
            Candidate(
                name,
                scored[name],
                tuple(self.reasons(name, found.get(name), name == boosted)),
                self.subject_mentions(found.get(name)),
                capability_score=scored[name],
                term_score=self.value(found.get(name), False),
            )
            for name in chosen
        ]

    @staticmethod
    def subject_mentions(match: CapabilityMatch | None) -> tuple[int, ...]:
        """Sorted positions of the agent's domains and entities in the query."""
        return tuple(sorted(set(match.subject_positions))) if match else ()

    def reasons(self, name: str, match: CapabilityMatch | None, boosted: bool) -> list[str]:
        """Which of the agent's terms matched, with their weights, and the boost."""
        config = self._config
        reasons = []
        if match is not None:
            for kind in KIND_ORDER:
                phrases = match.phrases.get(kind)
                if not phrases:
                    continue
                matched = [
                    term for k, phrase, term in self._terms_of[name] if k is kind and phrase in phrases
                ]
                reasons.append(
                    f"{kind.value} {', '.join(repr(t) for t in matched)} (+{config.weights[kind]:g})"
                )
        if boosted:
            reasons.append(f"last agent of the session (+{config.context_boost:g})")
        return reasons
