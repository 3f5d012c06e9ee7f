"""The two-stage router: fused stage-1 candidates, abstention, clauses, then stage 2 among several."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from registry_server.agents.circuit_breaker import split_open_circuits
from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.errors import ValidationError
from registry_server.domain.routing import (
    Candidate,
    RoutingDecision,
    Selection,
    SessionContext,
    Stage2Outcome,
)
from registry_server.metrics import record_stage2
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.routing.abstention import confidence
from registry_server.routing.clauses import split_clauses
from registry_server.routing.config import RoutingConfig
from registry_server.routing.coverage import uncovered_agent
from registry_server.routing.embedder import BackgroundEmbedder, TextEmbedder, shared_embedder
from registry_server.routing.gemini_selector import GeminiSelector, Stage2Error
from registry_server.routing.hybrid_index import HybridIndex, Ranked, Ranking, semantic_texts
from registry_server.routing.offline_selector import OfflineSelector
from registry_server.routing.vector_cache import VectorCache, fingerprint

log = logging.getLogger(__name__)

NO_CONTEXT = SessionContext()
# How many of the closest agents an abstention lists.
CLOSEST_SHOWN = 3


@dataclass(frozen=True)
class Plan:
    """Stage 1's outcome: the candidates for stage 2, each clause's pick among them, or an abstention."""

    candidates: tuple[Candidate, ...]
    clause_picks: tuple[int, ...]
    clauses: tuple[str, ...]
    abstained: bool


class Router:
    """Decides which agents answer a query; the index follows every change of the registry."""

    def __init__(
        self,
        registry: AgentRegistry,
        config: RoutingConfig,
        gemini: GeminiSelector | None,
        *,
        embedder: TextEmbedder | None = None,
        vector_cache: VectorCache | None = None,
    ) -> None:
        self.config = config
        # The model loads in the background: with every vector cached, start-up does not wait for it.
        self.index = HybridIndex(config, embedder or BackgroundEmbedder(shared_embedder))
        self._vector_cache = vector_cache
        agents = list(registry.agents())
        cached = vector_cache.load() if vector_cache else {}
        usable = {
            agent.name: cached[agent.name][1]
            for agent in agents
            if agent.routable
            and agent.name in cached
            and cached[agent.name][0] == fingerprint(semantic_texts(agent))
        }
        self.index.rebuild(agents, usable)
        if vector_cache and (len(usable) != len(self.index) or len(cached) != len(usable)):
            self.save_vectors()
        registry.add_listener(self._on_agent_changed)
        self._gemini = gemini
        self._offline = OfflineSelector(config.multi_agent_margin)

    def save_vectors(self) -> None:
        """Writes every indexed agent's vectors to the vector cache, if there is one."""
        if self._vector_cache is None:
            return
        vectors = self.index.vectors()
        entries = {}
        for name, agent_vectors in vectors.items():
            agent = self.index.agent(name)
            if agent is not None:
                entries[name] = (fingerprint(semantic_texts(agent)), agent_vectors)
        self._vector_cache.save(entries)

    def _on_agent_changed(self, name: str, agent: RegisteredAgent | None) -> None:
        if agent is None:
            self.index.remove(name)
        else:
            self.index.put(agent)

    def validate_query(self, query: str) -> None:
        """Raises ValidationError for an empty or oversized query."""
        if not query.strip():
            raise ValidationError.single("query", "is required: the user's request in plain words")
        if len(query) > self.config.max_query_chars:
            raise ValidationError.single(
                "query", f"is {len(query)} characters; at most {self.config.max_query_chars} are allowed"
            )

    def candidates(self, query: str, context: SessionContext = NO_CONTEXT) -> list[Candidate]:
        """Stage 1 alone: the scored candidates with their reasons."""
        self.validate_query(query)
        return self.index.score(query, context.last_agent)

    def plan(self, query: str, context: SessionContext = NO_CONTEXT) -> Plan:
        """Stage 1 with abstention and clauses: what stage 2 chooses among."""
        config = self.config
        self.validate_query(query)
        ranking = self.index.rank(query, context.last_agent)
        ranked = ranking.entries
        clauses = split_clauses(query)
        distinct = self._clause_picks(clauses) if len(clauses) > 1 else []
        if not ranked or (not self._confident(ranked) and len(distinct) < 2):
            return Plan(tuple(ranking.candidates(CLOSEST_SHOWN)), (), tuple(clauses), True)
        floor = ranked[0].score * config.candidate_ratio
        named = max((r.term_score for r in ranked if r.explicit), default=1.0)
        kept = [
            ranking.candidate(position)
            for position, r in enumerate(ranked)
            if r.score >= floor or (r.explicit and r.term_score >= named - config.multi_agent_margin)
        ]
        names = {c.agent_name for c in kept}
        if len(distinct) < 2:
            distinct = self._covering_picks(query, ranking)
        if len(distinct) >= 2:
            kept += [c for c in distinct if c.agent_name not in names]
            index_of = {c.agent_name: i for i, c in enumerate(kept)}
            picks = tuple(index_of[c.agent_name] for c in distinct)
        else:
            picks = ()
        return Plan(tuple(kept), picks, tuple(clauses), False)

    def _covering_picks(self, query: str, ranking: Ranking) -> list[Candidate]:
        """The best candidate and the one a part of the query supports instead, or none."""
        second = uncovered_agent(self.index, query, ranking.entries, self.config)
        if not second:
            return []
        position = next(i for i, r in enumerate(ranking.entries) if r.agent_name == second)
        return [ranking.candidate(0), ranking.candidate(position)]

    def _confident(self, ranked: list[Ranked]) -> bool:
        """True when stage 1 is confident enough, or some agent's terms are named plainly enough."""
        config = self.config
        sure = confidence(ranked, config.confidence_weights) >= config.abstain_threshold
        return sure or any(r.term_score >= config.confident_capability_score for r in ranked)

    def _clause_picks(self, clauses: list[str]) -> list[Candidate]:
        """Each clause's best agent, kept when relevant and clearly ahead of the other clauses' picks."""
        config = self.config
        rankings = [self.index.rank(clause) for clause in clauses]
        leaders = [
            r.entries[0] for r in rankings if r.entries and r.entries[0].score >= config.clause_threshold
        ]
        distinct = {leader.agent_name for leader in leaders}
        if len(distinct) < 2:
            return []
        kept: dict[str, Candidate] = {}
        for ranking in rankings:
            if not ranking.entries or ranking.entries[0].agent_name not in distinct:
                continue
            lead = ranking.entries[0]
            scores = {r.agent_name: r.score for r in ranking.entries}
            rivals = [scores.get(other, 0.0) for other in distinct if other != lead.agent_name]
            if all(lead.score - rival >= config.clause_margin for rival in rivals):
                kept.setdefault(lead.agent_name, ranking.candidate(0))
        return list(kept.values())

    async def decide(self, query: str, context: SessionContext = NO_CONTEXT) -> RoutingDecision:
        """Stage 1 with abstention, then stage 2 when two or more candidates remain.

        Agents whose circuit breaker is open are left out, and listed among the candidates with why.
        """
        plan, skipped = self._without_open_circuits(self.plan(query, context))
        decision = await self._decide_planned(query, plan, context)
        return replace(decision, candidates=decision.candidates + skipped) if skipped else decision

    def _without_open_circuits(self, plan: Plan) -> tuple[Plan, tuple[Candidate, ...]]:
        """The plan without the candidates whose circuit is open, and those candidates."""
        usable, skipped = split_open_circuits(
            plan.candidates, lambda name: getattr(self.index.agent(name), "instance", None)
        )
        if not skipped:
            return plan, ()
        position = {c.agent_name: i for i, c in enumerate(usable)}
        picks = tuple(
            position[plan.candidates[i].agent_name]
            for i in plan.clause_picks
            if plan.candidates[i].agent_name in position
        )
        return Plan(tuple(usable), picks, plan.clauses, plan.abstained or not usable), skipped

    async def _decide_planned(self, query: str, plan: Plan, context: SessionContext) -> RoutingDecision:
        candidates = plan.candidates
        if plan.abstained:
            reason = self._no_match(candidates)
            record_stage2(Stage2Outcome.SKIPPED.name)
            return RoutingDecision(
                candidates, (), Stage2Outcome.SKIPPED, reason, "", context.session_id, True, plan.clauses
            )
        if len(candidates) < 2:
            record_stage2(Stage2Outcome.SKIPPED.name)
            return RoutingDecision(
                candidates,
                (candidates[0].agent_name,),
                Stage2Outcome.SKIPPED,
                "one candidate: nothing to choose",
                "",
                context.session_id,
                clauses=plan.clauses,
            )
        outcome, reason, selection = await self._stage2(query, plan, context)
        record_stage2(outcome.name)
        selected = tuple(candidates[i].agent_name for i in selection.indices)
        reason = f"{reason}: {selection.reasoning}" if selection.reasoning else reason
        return RoutingDecision(
            candidates,
            selected,
            outcome,
            reason,
            selection.analysis,
            context.session_id,
            not selected,
            plan.clauses,
        )

    def _no_match(self, closest: tuple[Candidate, ...]) -> str:
        """The abstention's reason, with the closest agents."""
        threshold = self.config.abstain_threshold
        if not closest:
            return "no agent matched the query: no agent is available"
        shown = ", ".join(f"{c.agent_name} ({c.score:.2f})" for c in closest)
        return f"no agent matched the query (confidence below {threshold:g}); closest: {shown}"

    async def _stage2(
        self, query: str, plan: Plan, context: SessionContext
    ) -> tuple[Stage2Outcome, str, Selection]:
        candidates = plan.candidates
        if self._gemini is None:
            reason = "no Gemini API key (GOOGLE_API_KEY or GEMINI_API_KEY); offline selector"
            return Stage2Outcome.FALLBACK, reason, self._offline.select(candidates, query, plan.clause_picks)
        agents = [self.index.agent(c.agent_name) for c in candidates]
        try:
            selection = await self._gemini.select(query, candidates, [a for a in agents if a], context)
        except Stage2Error as error:
            log.warning("stage 2 fell back to the offline selector: %s", error)
            offline = self._offline.select(candidates, query, plan.clause_picks)
            return Stage2Outcome.FALLBACK, f"{error}; offline selector", offline
        if not selection.indices:
            return Stage2Outcome.LLM, "Gemini selected no agent: no agent matched the query", selection
        return Stage2Outcome.LLM, "Gemini selected", selection
