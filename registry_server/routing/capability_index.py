"""Stage 1: an inverted index from normalised terms to agents, scored by capability weights."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.routing import Candidate, CapabilityKind
from registry_server.routing.config import RoutingConfig
from registry_server.routing.text import tokens

SUBJECT_KINDS = frozenset({CapabilityKind.DOMAIN, CapabilityKind.ENTITY})
KIND_ORDER = (CapabilityKind.DOMAIN, CapabilityKind.ENTITY, CapabilityKind.OPERATION, CapabilityKind.KEYWORD)
KIND_BIT = {kind: 1 << index for index, kind in enumerate(KIND_ORDER)}
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


class CapabilityIndex:
    """Maps each term's first word to its term groups, so scoring costs follow the query, not the registry.

    A query word shared by many agents (a common operation such as "list") touches each of them once, with
    a dict update; candidates, their reasons and the tie-breaking are computed for the top k only.
    """

    def __init__(self, config: RoutingConfig) -> None:
        self._config = config
        self._groups: dict[str, dict[tuple[tuple[str, ...], CapabilityKind], TermGroup]] = defaultdict(dict)
        self._agents: dict[str, RegisteredAgent] = {}
        self._keys_of: dict[str, list[tuple[str, tuple[str, ...], CapabilityKind]]] = {}
        self._order: dict[str, tuple[int, str]] = {}
        weights = config.weights
        self._score_of_mask = [
            sum(weights[kind] for kind in KIND_ORDER if mask & KIND_BIT[kind])
            for mask in range(1 << len(KIND_ORDER))
        ]

    def __len__(self) -> int:
        return len(self._agents)

    def rebuild(self, agents: Iterable[RegisteredAgent]) -> None:
        """Indexes every routable agent from scratch."""
        self._groups.clear()
        self._agents.clear()
        self._keys_of.clear()
        self._order.clear()
        for agent in agents:
            self.put(agent)

    def put(self, agent: RegisteredAgent) -> None:
        """Indexes the agent (replacing what was indexed under its name); drops it if not routable."""
        self.remove(agent.name)
        if not agent.routable:
            return
        self._agents[agent.name] = agent
        self._order[agent.name] = (-agent.spec.capabilities.priority, agent.name)
        keys = []
        for kind, list_name in _KIND_LISTS.items():
            for term in getattr(agent.spec.capabilities, list_name):
                phrase = tokens(term)
                if not phrase:
                    continue
                group = self._groups[phrase[0]].setdefault((phrase, kind), TermGroup(phrase, kind, set()))
                group.agents.add(agent.name)
                keys.append((phrase[0], phrase, kind))
        self._keys_of[agent.name] = keys

    def remove(self, name: str) -> None:
        """Forgets the agent."""
        if self._agents.pop(name, None) is None:
            return
        del self._order[name]
        for word, phrase, kind in self._keys_of.pop(name, ()):
            groups = self._groups.get(word)
            group = groups.get((phrase, kind)) if groups else None
            if group is None:
                continue
            group.agents.discard(name)
            if not group.agents:
                del groups[(phrase, kind)]  # type: ignore[index]
                if not groups:
                    del self._groups[word]

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every indexed (routable) agent."""
        return self._agents.values()

    def agent(self, name: str) -> RegisteredAgent | None:
        """The indexed (routable) agent of that name."""
        return self._agents.get(name)

    def score(self, query: str, last_agent: str = "") -> list[Candidate]:
        """The candidates for `query`, best first; `last_agent` may get the context boost."""
        words = tokens(query)
        masks: dict[str, int] = {}
        subject_positions: dict[str, list[int]] = {}
        for position, word in enumerate(words):
            for group in self._groups.get(word, {}).values():
                phrase = group.phrase
                if len(phrase) > 1 and words[position : position + len(phrase)] != phrase:
                    continue
                bit = KIND_BIT[group.kind]
                for name in group.agents:
                    masks[name] = masks.get(name, 0) | bit
                if group.kind in SUBJECT_KINDS:
                    for name in group.agents:
                        subject_positions.setdefault(name, []).append(position)
        boosted = self._boosted(last_agent, masks, subject_positions)
        chosen = self._top(masks, subject_positions, boosted)
        return [
            self._candidate(name, score, words, subject_positions, name == boosted) for score, name in chosen
        ]

    def _boosted(
        self, last_agent: str, masks: dict[str, int], subject_positions: dict[str, list[int]]
    ) -> str:
        """The agent that gets the context boost, or "".

        The boost serves follow-ups ("show me the details"); it must not pull the last agent into a query that
        explicitly names another agent's subject and nothing of its own.
        """
        if last_agent not in self._agents:
            return ""
        if last_agent in masks or not (subject_positions.keys() - {last_agent}):
            masks.setdefault(last_agent, 0)
            return last_agent
        return ""

    def _top(
        self, masks: dict[str, int], subject_positions: dict[str, list[int]], boosted: str
    ) -> list[tuple[float, str]]:
        """The top-k (score, name) by score, priority, first subject mention and name."""
        config = self._config
        by_mask: dict[int, list[str]] = defaultdict(list)
        for name, mask in masks.items():
            by_mask[mask].append(name)
        buckets: dict[float, list[str]] = defaultdict(list)
        for mask, names in by_mask.items():
            buckets[self._score_of_mask[mask]].extend(names)
        if boosted:  # the one agent whose score is not its mask's
            buckets[self._score_of_mask[masks[boosted]]].remove(boosted)
            buckets[_rounded(self._score_of_mask[masks[boosted]] + config.context_boost)].append(boosted)
        buckets = {score: names for score, names in buckets.items() if score >= config.min_score and names}
        named_by_score: dict[float, list[str]] = defaultdict(list)  # few: the agents the query names
        for name in subject_positions:
            named_by_score[self._score(name, masks, boosted)].append(name)

        def full_key(name: str) -> tuple[int, int, str]:
            positions = subject_positions.get(name)
            return self._order[name][0], min(positions) if positions else _NOT_MENTIONED, name

        chosen: list[tuple[float, str]] = []
        for score in sorted(buckets, reverse=True):
            room = config.top_k - len(chosen)
            if room <= 0:
                break
            named = named_by_score.get(score, [])
            # Agents the query does not name tie on mention, so (priority, name) orders them: one cheap
            # pass with a precomputed key, however many agents share a common term.
            top = heapq.nsmallest(room + len(named), buckets[score], key=self._order.__getitem__)
            unnamed = [name for name in top if name not in subject_positions][:room]
            chosen += [(score, name) for name in sorted(named + unnamed, key=full_key)[:room]]
        return chosen

    def _score(self, name: str, masks: dict[str, int], boosted: str) -> float:
        score = self._score_of_mask[masks[name]]
        return _rounded(score + self._config.context_boost) if name == boosted else score

    def _candidate(
        self,
        name: str,
        score: float,
        words: tuple[str, ...],
        subject_positions: dict[str, list[int]],
        boosted: bool,
    ) -> Candidate:
        """The candidate with its reasons: which of its terms matched, and the boost."""
        config = self._config
        capabilities = self._agents[name].spec.capabilities
        reasons = []
        for kind in KIND_ORDER:
            matched = [
                term for term in getattr(capabilities, _KIND_LISTS[kind]) if _contains(words, tokens(term))
            ]
            if matched:
                reasons.append(
                    f"{kind.value} {', '.join(repr(t) for t in matched)} (+{config.weights[kind]:g})"
                )
        if boosted:
            reasons.append(f"last agent of the session (+{config.context_boost:g})")
        return Candidate(name, score, tuple(reasons), tuple(sorted(set(subject_positions.get(name, ())))))


def _rounded(score: float) -> float:
    """Scores are capped at 1 and rounded, so equal sums compare equal."""
    return round(min(score, 1.0), 6)


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """True when `phrase` appears as consecutive words of `words`."""
    if not phrase:
        return False
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1) if words[i] == phrase[0])
