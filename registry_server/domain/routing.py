"""Routing decisions and agent results: what the router decided, why, and what each agent answered."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CapabilityKind(enum.Enum):
    """Which list of an agent's capabilities a query term matched."""

    DOMAIN = "domain"
    ENTITY = "entity"
    OPERATION = "operation"
    KEYWORD = "keyword"


class Stage2Outcome(enum.Enum):
    """How the final selection among the candidates was made."""

    SKIPPED = "SKIPPED"
    LLM = "LLM"
    FALLBACK = "FALLBACK"


@dataclass(frozen=True)
class Candidate:
    """An agent that stage 1 scored, with the reasons for its score.

    `score` is the fused relevance; the signals it fuses are kept alongside, unweighted.
    """

    agent_name: str
    score: float
    reasons: tuple[str, ...]
    # Positions (in the normalised query's words) of the words of this agent's domain or entity terms.
    subject_mentions: tuple[int, ...] = ()
    capability_score: float = 0.0
    # The typed score of the terms the query names, without the context boost: the evidence of a subject.
    term_score: float = 0.0
    lexical_score: float = 0.0
    semantic_score: float = 0.0
    # Mean similarity to the agent's closest examples (stage 1's examples signal).
    example_score: float = 0.0

    @property
    def explicit(self) -> bool:
        """True when the query names this agent's subject (one of its domains or entities)."""
        return bool(self.subject_mentions)


@dataclass(frozen=True)
class SessionContext:
    """What the router knows of the conversation so far."""

    session_id: str = ""
    last_agent: str = ""
    last_query: str = ""
    last_response: str = ""


@dataclass(frozen=True)
class Selection:
    """Stage 2's choice: indices into the candidates, and its explanation."""

    indices: tuple[int, ...]
    analysis: str = ""
    reasoning: str = ""


@dataclass(frozen=True)
class RoutingDecision:
    """The candidates, the agents selected among them, and how stage 2 went."""

    candidates: tuple[Candidate, ...]
    selected_agents: tuple[str, ...]
    stage2: Stage2Outcome
    stage2_reason: str
    analysis: str = ""
    session_id: str = ""
    # True when no agent matched: nothing is selected and the candidates are the closest agents.
    abstained: bool = False
    # The parts of a multi-part request, routed one by one (a single entry for a single request).
    clauses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentResult:
    """What one agent answered (or why it did not)."""

    agent_name: str
    response: str
    success: bool
    duration_ms: int
    error: str = ""


@dataclass(frozen=True)
class TurnCompleted:
    """The end of a turn: the combined answer and the session it was recorded in."""

    combined_response: str
    session_id: str


@dataclass(frozen=True)
class AgentChunk:
    """A piece of one agent's answer, sent as soon as the agent produced it."""

    agent_name: str
    text: str
