"""Stage 1: the typed-capability score, BM25 and static-embedding similarity, fused into one relevance."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.routing import Candidate
from registry_server.routing.capability_index import CapabilityIndex, CapabilityMatch
from registry_server.routing.config import RoutingConfig
from registry_server.routing.embedder import TextEmbedder, Vectors, group_vectors
from registry_server.routing.example_index import ExampleIndex, QuantizedRows, quantized
from registry_server.routing.lexical_index import LexicalHits, LexicalIndex
from registry_server.routing.semantic_index import SemanticIndex
from registry_server.routing.text import content_word_counts, content_words, tokens


def agent_texts(agent: RegisteredAgent) -> list[str]:
    """What describes an agent: its name, description, capability terms and examples."""
    spec = agent.spec
    capabilities = spec.capabilities
    terms = (*capabilities.domains, *capabilities.entities, *capabilities.operations, *capabilities.keywords)
    return [spec.name.replace("_", " "), spec.description, *terms, *capabilities.examples]


def semantic_texts(agent: RegisteredAgent) -> list[str]:
    """The texts averaged into the agent's vector: its description (else its name) and its examples."""
    spec = agent.spec
    head = spec.description or spec.name.replace("_", " ")
    return [head, *spec.capabilities.examples]


@dataclass
class _Signals:
    """The raw signals of one agent for one query."""

    capability: float = 0.0
    lexical: float = 0.0
    semantic: float = 0.0
    examples: float = 0.0


@dataclass(frozen=True)
class Ranked:
    """A ranked agent, before its reasons are written: what stage 2's preparation needs to filter."""

    agent_name: str
    score: float
    capability_score: float
    term_score: float
    explicit: bool
    semantic_score: float
    # True for the session's last agent when the query is a follow-up that names no other agent.
    context: bool = False


class Ranking:
    """One query's ranked agents, best first; each one's Candidate (with reasons) is built on demand."""

    def __init__(self, entries: list[Ranked], describe: Callable[[str], Candidate]) -> None:
        self.entries = entries
        self._describe = describe
        self._built: dict[str, Candidate] = {}

    def candidate(self, position: int) -> Candidate:
        """The candidate at `position`, with its reasons."""
        name = self.entries[position].agent_name
        if name not in self._built:
            self._built[name] = self._describe(name)
        return self._built[name]

    def candidates(self, limit: int | None = None) -> list[Candidate]:
        """The first `limit` candidates (all by default), with their reasons."""
        count = len(self.entries) if limit is None else min(limit, len(self.entries))
        return [self.candidate(position) for position in range(count)]


@dataclass(frozen=True)
class AgentVectors:
    """An agent's vectors: the mean of its texts (to retrieve it) and one per example (nearest examples)."""

    mean: Vectors
    examples: QuantizedRows


class HybridIndex:
    """Every routable agent in four indexes sharing slot numbers; `score` fuses their top-k retrievals.

    Vectors are computed when an agent is put (or given, e.g. from a cache), never per query; a query costs
    one embedding, one matrix-vector product, its BM25 postings, its typed-term lookups and the retrieved
    agents' example vectors.
    """

    def __init__(self, config: RoutingConfig, embedder: TextEmbedder) -> None:
        self._config = config
        self._embedder = embedder
        self.capabilities = CapabilityIndex(config)
        self._lexical = LexicalIndex(config.bm25_k1, config.bm25_b)
        self.semantic = SemanticIndex()
        self.examples = ExampleIndex(config.nearest_examples)
        self._slot_of: dict[str, int] = {}
        self._name_of: dict[int, str] = {}
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._slot_of)

    def rebuild(
        self, agents: Iterable[RegisteredAgent], vectors: dict[str, AgentVectors] | None = None
    ) -> None:
        """Indexes every routable agent, embedding all that `vectors` does not give in one batch."""
        routable = [agent for agent in agents if agent.routable]
        known = vectors or {}
        missing = [agent for agent in routable if agent.name not in known]
        computed = self._embed_agents(missing)
        for agent in routable:
            self.put(agent, known.get(agent.name, computed.get(agent.name)))

    def _embed_agents(self, agents: list[RegisteredAgent]) -> dict[str, AgentVectors]:
        """Every agent's vectors, from one batch of all their texts."""
        if not agents:
            return {}
        texts = [semantic_texts(agent) for agent in agents]
        rows = self._embedder.embed_many([text for group in texts for text in group])
        sizes = np.fromiter((len(group) for group in texts), np.int64, len(texts))
        starts = np.cumsum(sizes) - sizes
        vectors = group_vectors(rows, sizes.tolist())
        # A group's first text is the agent's description; the rest are its examples.
        examples = quantized(rows)
        return {
            agent.name: AgentVectors(
                vectors[row],
                QuantizedRows(
                    examples.integers[starts[row] + 1 : starts[row] + sizes[row]],
                    examples.scales[starts[row] + 1 : starts[row] + sizes[row]],
                ),
            )
            for row, agent in enumerate(agents)
        }

    def put(self, agent: RegisteredAgent, vectors: AgentVectors | None = None) -> None:
        """Indexes the agent (replacing what was indexed under its name); drops it if not routable."""
        self.remove(agent.name)
        if not agent.routable:
            return
        slot = self._free.pop() if self._free else len(self._slot_of)
        self._slot_of[agent.name] = slot
        self._name_of[slot] = agent.name
        self.capabilities.put(agent)
        self._lexical.put(slot, content_word_counts("\n".join(agent_texts(agent))))
        if vectors is None:
            vectors = self._embed_agents([agent])[agent.name]
        self.semantic.put(slot, vectors.mean)
        self.examples.put(slot, vectors.examples)

    def remove(self, name: str) -> None:
        """Forgets the agent."""
        slot = self._slot_of.pop(name, None)
        if slot is None:
            return
        del self._name_of[slot]
        self._free.append(slot)
        self.capabilities.remove(name)
        self._lexical.remove(slot)
        self.semantic.remove(slot)
        self.examples.remove(slot)

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every indexed (routable) agent."""
        return self.capabilities.agents()

    def agent(self, name: str) -> RegisteredAgent | None:
        """The indexed (routable) agent of that name."""
        return self.capabilities.agent(name)

    def vectors(self) -> dict[str, AgentVectors]:
        """Every agent's vectors, by name (to persist them)."""
        return {
            name: AgentVectors(self.semantic.vector(slot).copy(), self.examples.examples(slot))
            for name, slot in self._slot_of.items()
        }

    def score(self, query: str, last_agent: str = "") -> list[Candidate]:
        """The top-k candidates for `query` by fused relevance, best first, with every signal's share."""
        return self.rank(query, last_agent).candidates()

    def rank(self, query: str, last_agent: str = "") -> Ranking:
        """The top-k agents for `query` by fused relevance; reasons are written only for those asked for."""
        config = self._config
        k = config.retrieval_k
        words = tokens(query)
        capabilities = self.capabilities
        found = capabilities.match(words, expand_limit=config.common_term_agents)
        boosted = capabilities.boosted(last_agent, found)
        lexical = self._lexical.search(content_words(query), k)
        query_vector = self._embedder.embed(query)
        named = heapq.nlargest(
            k, found.expanded, key=lambda n: capabilities.value(found.get(n), n == boosted)
        )
        pool = dict.fromkeys(named)
        if boosted:
            pool[boosted] = None
        name_of = self._name_of
        for slot in lexical.top.tolist():
            pool[name_of[slot]] = None
        for slot in self.semantic.top(query_vector, k).tolist():
            if slot in name_of:
                pool[name_of[slot]] = None
        slots = np.fromiter((self._slot_of[name] for name in pool), np.int64, len(pool))
        similarities = self.semantic.similarities(query_vector, slots)
        nearest = (
            self.examples.similarities(query_vector, slots, similarities)
            if config.fusion["examples"]
            else similarities
        ).tolist()
        signals: dict[str, _Signals] = {}
        for name, slot, similarity, example in zip(
            pool, slots.tolist(), similarities.tolist(), nearest, strict=True
        ):
            signals[name] = _Signals(
                capabilities.value(found.get(name), name == boosted),
                float(lexical.scores[slot]),
                similarity,
                example,
            )
        fused = {name: self._fused(signal, name == boosted) for name, signal in signals.items()}
        ranked = heapq.nsmallest(
            config.top_k,
            signals,
            key=lambda n: (
                -fused[n],
                -signals[n].capability,
                capabilities.evidence_key(n, found.get(n)),
                n,
            ),
        )
        entries = [
            Ranked(
                name,
                fused[name],
                signals[name].capability,
                capabilities.value(found.get(name), False),
                bool(capabilities.subject_mentions(found.get(name))),
                signals[name].semantic,
                name == boosted,
            )
            for name in ranked
        ]

        def describe(name: str) -> Candidate:
            return self._candidate(
                name,
                fused=fused[name],
                signal=signals[name],
                match=found.get(name),
                boosted=name == boosted,
                lexical=lexical,
            )

        return Ranking(entries, describe)

    def _fused(self, signal: _Signals, boosted: bool) -> float:
        weights = self._config.fusion
        total = (
            weights["semantic"] * signal.semantic
            + weights["examples"] * signal.examples
            + weights["lexical"] * signal.lexical
            + weights["capability"] * signal.capability
            + (weights["context"] if boosted else 0.0)
        )
        return round(total, 6)

    def _candidate(
        self,
        name: str,
        *,
        fused: float,
        signal: _Signals,
        match: CapabilityMatch | None,
        boosted: bool,
        lexical: LexicalHits,
    ) -> Candidate:
        """The candidate with reasons: matched terms, then what each signal added to the relevance."""
        weights = self._config.fusion
        reasons = self.capabilities.reasons(name, match, boosted)
        if signal.capability:
            reasons.append(
                f"capability score {signal.capability:.2f} x {weights['capability']:g}"
                f" = +{signal.capability * weights['capability']:.3f}"
            )
        if signal.lexical:
            terms = self._lexical.matched_terms(self._slot_of[name], lexical.idf)[:4]
            shown = ", ".join(repr(t) for t in terms)
            reasons.append(
                f"lexical BM25 {signal.lexical:.2f} on {shown} x {weights['lexical']:g}"
                f" = +{signal.lexical * weights['lexical']:.3f}"
            )
        reasons.append(
            f"semantic similarity {signal.semantic:.2f} x {weights['semantic']:g}"
            f" = {signal.semantic * weights['semantic']:+.3f}"
        )
        if weights["examples"]:
            reasons.append(
                f"nearest examples' similarity {signal.examples:.2f} x {weights['examples']:g}"
                f" = {signal.examples * weights['examples']:+.3f}"
            )
        if boosted and weights["context"]:
            reasons.append(f"context: the session's last agent (+{weights['context']:g})")
        return Candidate(
            name,
            fused,
            tuple(reasons),
            self.capabilities.subject_mentions(match),
            capability_score=signal.capability,
            term_score=self.capabilities.value(match, False),
            lexical_score=round(signal.lexical, 6),
            semantic_score=round(signal.semantic, 6),
            example_score=round(signal.examples, 6),
        )
