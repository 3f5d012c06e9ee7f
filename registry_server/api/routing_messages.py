"""Converts routing decisions and agent results to their protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable

from agentregistry.v1 import router_service_pb2, routing_pb2
from registry_server.domain.routing import AgentChunk, AgentResult, Candidate, RoutingDecision, Stage2Outcome

_STAGE2_TO_PROTO = {
    Stage2Outcome.SKIPPED: routing_pb2.STAGE2_SKIPPED,
    Stage2Outcome.LLM: routing_pb2.STAGE2_LLM,
    Stage2Outcome.FALLBACK: routing_pb2.STAGE2_FALLBACK,
}


def candidates_to_proto(candidates: Iterable[Candidate]) -> list[routing_pb2.RoutingCandidate]:
    """The RoutingCandidate messages."""
    return [
        routing_pb2.RoutingCandidate(agent_name=c.agent_name, score=c.score, reasons=list(c.reasons))
        for c in candidates
    ]


def decision_to_proto(decision: RoutingDecision) -> routing_pb2.RoutingDecision:
    """The RoutingDecision message."""
    return routing_pb2.RoutingDecision(
        candidates=candidates_to_proto(decision.candidates),
        selected_agents=list(decision.selected_agents),
        stage2=_STAGE2_TO_PROTO[decision.stage2],
        stage2_reason=decision.stage2_reason,
        analysis=decision.analysis,
        session_id=decision.session_id,
    )


def result_to_proto(result: AgentResult) -> router_service_pb2.AgentResult:
    """The AgentResult message."""
    return router_service_pb2.AgentResult(
        agent_name=result.agent_name,
        response=result.response,
        success=result.success,
        duration_ms=result.duration_ms,
        error=result.error,
    )


def chunk_to_proto(chunk: AgentChunk) -> router_service_pb2.AgentChunk:
    """The AgentChunk message."""
    return router_service_pb2.AgentChunk(agent_name=chunk.agent_name, text=chunk.text)
