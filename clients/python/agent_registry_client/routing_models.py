"""Plain-Python views of routing decisions and RouteAndInvoke events."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agentregistry.v1 import router_service_pb2, routing_pb2


@dataclass(frozen=True)
class Candidate:
    """An agent stage 1 scored for the query, and why."""

    agent_name: str
    score: float
    reasons: tuple[str, ...]

    @classmethod
    def from_proto(cls, message: routing_pb2.RoutingCandidate) -> Candidate:
        """The candidate of a message the server returned."""
        return cls(message.agent_name, message.score, tuple(message.reasons))


class Stage2(enum.StrEnum):
    """How stage 2 decided; a str enum, so it also compares equal to its name."""

    UNSPECIFIED = "UNSPECIFIED"
    SKIPPED = "SKIPPED"
    LLM = "LLM"
    FALLBACK = "FALLBACK"


@dataclass(frozen=True)
class RoutingDecision:
    """Which agents answer, and how stage 2 went (Stage2.SKIPPED, LLM or FALLBACK)."""

    candidates: tuple[Candidate, ...]
    selected_agents: tuple[str, ...]
    stage2: Stage2
    stage2_reason: str
    analysis: str
    session_id: str

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
class Completed:
    """The end of a turn: the combined answer and the session it was recorded in."""

    combined_response: str
    session_id: str


TurnEvent = RoutingDecision | AgentResult | Completed
