"""Stage 1: an inverted index from normalised terms to agents, scored by capability weights."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.routing import Candidate, CapabilityKind
from registry_server.routing.config import RoutingConfig
from registry_server.routing.text import tokens

SUBJECT_KINDS = frozenset({CapabilityKind.DOMAIN, CapabilityKind.ENTITY})
_KIND_LISTS = (
    (CapabilityKind.DOMAIN, "domains"),
    (CapabilityKind.ENTITY, "entities"),
    (CapabilityKind.OPERATION, "operations"),
    (CapabilityKind.KEYWORD, "keywords"),
)


@dataclass(frozen=True)
class Posting:
    """One capability term of one agent, filed under the term's first word."""

    agent_name: str
    kind: CapabilityKind
    phrase: tuple[str, ...]
    term: str


# agent name -> capability kind -> the agent's terms of that kind found in the query
Matches = dict[str, dict[CapabilityKind, list[str]]]


class CapabilityIndex:
    """Maps each term's first word to its postings, so scoring costs follow the query, not the registry."""

    def __init__(self, config: RoutingConfig) -> None:
        self._config = config
        self._postings: dict[str, list[Posting]] = defaultdict(list)
        self._agents: dict[str, RegisteredAgent] = {}
        self._words_of: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._agents)

    def rebuild(self, agents: Iterable[RegisteredAgent]) -> None:
        """Indexes every routable agent from scratch."""
        self._postings.clear()
        self._agents.clear()
        self._words_of.clear()
        for agent in agents:
            self.put(agent)

    def put(self, agent: RegisteredAgent) -> None:
        """Indexes the agent (replacing what was indexed under its name); drops it if not routable."""
        self.remove(agent.name)
        if not agent.routable:
            return
        self._agents[agent.name] = agent
        words: set[str] = set()
        capabilities = agent.spec.capabilities
        for kind, list_name in _KIND_LISTS:
            for term in getattr(capabilities, list_name):
                phrase = tokens(term)
                if phrase:
                    self._postings[phrase[0]].append(Posting(agent.name, kind, phrase, term))
                    words.add(phrase[0])
        self._words_of[agent.name] = words

    def remove(self, name: str) -> None:
        """Forgets the agent."""
        if self._agents.pop(name, None) is None:
            return
        for word in self._words_of.pop(name, ()):
            remaining = [p for p in self._postings[word] if p.agent_name != name]
            if remaining:
                self._postings[word] = remaining
            else:
                del self._postings[word]

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every indexed (routable) agent."""
        return self._agents.values()

    def agent(self, name: str) -> RegisteredAgent | None:
        """The indexed (routable) agent of that name."""
        return self._agents.get(name)

    def score(self, query: str, last_agent: str = "") -> list[Candidate]:
        """The candidates for `query`, best first; `last_agent` may get the context boost."""
        words = tokens(query)
        matches: Matches = {}
        first_mention: dict[str, int] = {}
        subject_mentions: dict[str, list[int]] = {}
        for position, word in enumerate(words):
            for posting in self._postings.get(word, ()):
                if words[position : position + len(posting.phrase)] == posting.phrase:
                    matched = matches.setdefault(posting.agent_name, {}).setdefault(posting.kind, [])
                    if posting.term not in matched:
                        matched.append(posting.term)
                    first_mention.setdefault(posting.agent_name, position)
                    if posting.kind in SUBJECT_KINDS:
                        subject_mentions.setdefault(posting.agent_name, []).append(position)
        return self._rank(matches, first_mention, subject_mentions, last_agent)

    def _rank(
        self,
        matches: Matches,
        first_mention: dict[str, int],
        subject_mentions: dict[str, list[int]],
        last_agent: str,
    ) -> list[Candidate]:
        config = self._config
        explicit = set(subject_mentions)
        # The boost serves follow-ups ("show me the details"); it must not pull the last agent into a
        # query that explicitly names another agent's subject and nothing of its own.
        boost_applies = last_agent in self._agents and (last_agent in matches or not explicit - {last_agent})
        if boost_applies:
            matches.setdefault(last_agent, {})
        candidates = []
        for name, kinds in matches.items():
            score = sum(config.weights[kind] for kind in kinds)
            reasons = [
                f"{kind.value} {', '.join(repr(t) for t in terms)} (+{config.weights[kind]:g})"
                for kind, terms in sorted(kinds.items(), key=lambda item: -config.weights[item[0]])
            ]
            if boost_applies and name == last_agent:
                score += config.context_boost
                reasons.append(f"last agent of the session (+{config.context_boost:g})")
            score = round(min(score, 1.0), 6)
            if score >= config.min_score:
                priority = self._agents[name].spec.capabilities.priority
                mentions = tuple(sorted(set(subject_mentions.get(name, ()))))
                candidates.append(Candidate(name, score, tuple(reasons), priority, mentions))
        # Equal scores: higher priority first, then the agent the query mentions first.
        unmentioned = len(first_mention) + 10**6
        candidates.sort(
            key=lambda c: (-c.score, -c.priority, first_mention.get(c.agent_name, unmentioned), c.agent_name)
        )
        return candidates[: config.top_k]
