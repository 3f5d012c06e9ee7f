"""The two-stage router: stage-1 candidates from the capability index, then stage 2 among several."""

from __future__ import annotations

import logging
from dataclasses import replace

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
from registry_server.routing.capability_index import CapabilityIndex
from registry_server.routing.config import RoutingConfig
from registry_server.routing.gemini_selector import GeminiSelector, Stage2Error
from registry_server.routing.offline_selector import OfflineSelector
from registry_server.routing.text import tokens

log = logging.getLogger(__name__)

NO_CONTEXT = SessionContext()


class Router:
    """Decides which agents answer a query; the index follows every change of the registry."""

    def __init__(self, registry: AgentRegistry, config: RoutingConfig, gemini: GeminiSelector | None) -> None:
        self.config = config
        self.index = CapabilityIndex(config)
        self.index.rebuild(registry.agents())
        registry.add_listener(self._on_agent_changed)
        self._gemini = gemini
        self._offline = OfflineSelector(config.multi_agent_margin)

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

    async def decide(self, query: str, context: SessionContext = NO_CONTEXT) -> RoutingDecision:
        """Stage 1, then stage 2 when two or more candidates remain; open circuits are skipped, with why."""
        usable, skipped = split_open_circuits(
            self.candidates(query, context), lambda name: getattr(self.index.agent(name), "instance", None)
        )
        decision = await self._decide_among(query, usable, context)
        return replace(decision, candidates=decision.candidates + skipped) if skipped else decision

    async def _decide_among(
        self, query: str, candidates: list[Candidate], context: SessionContext
    ) -> RoutingDecision:
        if len(candidates) < 2:
            reason = "one candidate: nothing to choose" if candidates else "no agent matched the query"
            selected = tuple(c.agent_name for c in candidates)
            record_stage2(Stage2Outcome.SKIPPED.name)
            return RoutingDecision(
                tuple(candidates), selected, Stage2Outcome.SKIPPED, reason, "", context.session_id
            )
        outcome, reason, selection = await self._stage2(query, candidates, context)
        record_stage2(outcome.name)
        selected = tuple(candidates[i].agent_name for i in selection.indices)
        reason = f"{reason}: {selection.reasoning}" if selection.reasoning else reason
        return RoutingDecision(
            tuple(candidates), selected, outcome, reason, selection.analysis, context.session_id
        )

    async def _stage2(
        self, query: str, candidates: list[Candidate], context: SessionContext
    ) -> tuple[Stage2Outcome, str, Selection]:
        if self._gemini is None:
            reason = "no Gemini API key (GOOGLE_API_KEY or GEMINI_API_KEY); offline selector"
            return Stage2Outcome.FALLBACK, reason, self._offline.select(candidates, tokens(query))
        agents = [self.index.agent(c.agent_name) for c in candidates]
        try:
            selection = await self._gemini.select(query, candidates, [a for a in agents if a], context)
        except Stage2Error as error:
            log.warning("stage 2 fell back to the offline selector: %s", error)
            offline = self._offline.select(candidates, tokens(query))
            return Stage2Outcome.FALLBACK, f"{error}; offline selector", offline
        return Stage2Outcome.LLM, "Gemini selected", selection
