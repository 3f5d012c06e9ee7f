"""Plain-Python views of routing decisions and RouteAndInvoke events."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agentregistry.v1 import router_service_pb2, routing_pb2


@dataclass(frozen=True)
class Candidate:
    """An agent stage 1 scored for the query, and why: the fused relevance and each signal unweighted."""

    agent_name: str
    score: float
    reasons: tuple[str, ...]
    capability_score: float = 0.0
    lexical_score: float = 0.0
    semantic_score: float = 0.0

    @classmethod
    def from_proto(cls, message: routing_pb2.RoutingCandidate) -> Candidate:
        """The candidate of a message the server returned."""
        return cls(
            message.agent_name,
            message.score,
            tuple(message.reasons),
            message.capability_score,
            message.lexical_score,
            message.semantic_score,
        )


class Stage2(enum.StrEnum):
    """How stage 2 decided; a str enum, so it also compares equal to its name."""

    UNSPECIFIED = "UNSPECIFIED"
    SKIPPED = "SKIPPED"
    LLM = "LLM"
    FALLBACK = "FALLBACK"


@dataclass(frozen=True)
class RoutingDecision:
    """Which agents answer, and how stage 2 went: Stage2.SKIPPED, LLM or FALLBACK.

    `abstained` is true when no agent matched; the candidates are then the closest agents.
    """

    candidates: tuple[Candidate, ...]
    selected_agents: tuple[str, ...]
    stage2: Stage2
    stage2_reason: str
    analysis: str
    session_id: str
    abstained: bool = False
    clauses: tuple[str, ...] = ()

    @classmethod
    def from_proto(cls, message: routing_pb2.RoutingDecision) -> RoutingDecision:
        """The decision of a message the server returned."""
        return cls(
            tuple(Candidate.from_proto(c) for c in message.candidates),
            tuple(message.selected_agents),
            Stage2(routing_pb2.Stage2.Name(message.stage2).removeprefix("STAGE2_")),
            message.stage2_reason,
            message.analysis,
            message.session_id,
            message.abstained,
            tuple(message.clauses),
        )


@dataclass(frozen=True)
class AgentResult:
    """One agent's answer, or why it has none."""

    agent_name: str
    response: str
    success: bool
    duration_ms: int
    error: str

    @classmethod
    def from_proto(cls, message: router_service_pb2.AgentResult) -> AgentResult:
        """The result of a message the server returned."""
        return cls(message.agent_name, message.response, message.success, message.duration_ms, message.error)


@dataclass(frozen=True)
class AgentChunk:
    """A piece of one agent's answer, as soon as the agent produced it (its result follows)."""

    agent_name: str
    text: str


@dataclass(frozen=True)
class Completed:
    """The end of a turn: the combined answer and the session it was recorded in."""

    combined_response: str
    session_id: str


TurnEvent = RoutingDecision | AgentChunk | AgentResult | Completed


@dataclass(frozen=True)
class RoutingCase:
    """A labelled query, the agents that should answer it (maybe none), and the previous turn's agent."""

    query: str
    expected_agents: tuple[str, ...] = ()
    previous_agent: str = ""

    def to_proto(self) -> router_service_pb2.RoutingCase:
        """The message to send."""
        return router_service_pb2.RoutingCase(
            query=self.query, previous_agent=self.previous_agent, expected_agents=list(self.expected_agents)
        )

    @classmethod
    def from_proto(cls, message: router_service_pb2.RoutingCase) -> RoutingCase:
        """The case of a message the server returned."""
        return cls(message.query, tuple(message.expected_agents), message.previous_agent)


@dataclass(frozen=True)
class RoutingMiss:
    """A case routed wrongly, with the decision."""

    case: RoutingCase
    decision: RoutingDecision


@dataclass(frozen=True)
class RoutingReport:
    """What EvaluateRouting measured; recall is the share of expected agents among the first k candidates."""

    case_count: int
    exact_accuracy: float
    recall_at_1: float
    recall_at_3: float
    recall_at_10: float
    abstention_precision: float
    abstention_recall: float
    out_of_scope_count: int
    miss_count: int
    misses: tuple[RoutingMiss, ...]

    @classmethod
    def from_proto(cls, message: router_service_pb2.EvaluateRoutingResponse) -> RoutingReport:
        """The report of a message the server returned."""
        return cls(
            message.case_count,
            message.exact_accuracy,
            message.recall_at_1,
            message.recall_at_3,
            message.recall_at_10,
            message.abstention_precision,
            message.abstention_recall,
            message.out_of_scope_count,
            message.miss_count,
            tuple(
                RoutingMiss(RoutingCase.from_proto(m.case), RoutingDecision.from_proto(m.decision))
                for m in message.misses
            ),
        )
