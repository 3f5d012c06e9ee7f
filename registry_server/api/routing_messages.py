"""Converts routing decisions and agent results to their protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable

from agentregistry.v1 import router_service_pb2, routing_pb2
from registry_server.domain.routing import AgentChunk, AgentResult, Candidate, RoutingDecision, Stage2Outcome
from registry_server.routing.evaluation import EvaluationReport, RoutingCase

_STAGE2_TO_PROTO = {
    Stage2Outcome.SKIPPED: routing_pb2.STAGE2_SKIPPED,
    Stage2Outcome.LLM: routing_pb2.STAGE2_LLM,
    Stage2Outcome.FALLBACK: routing_pb2.STAGE2_FALLBACK,
}


def candidates_to_proto(candidates: Iterable[Candidate]) -> list[routing_pb2.RoutingCandidate]:
    """The RoutingCandidate messages."""
    return [
        routing_pb2.RoutingCandidate(
            agent_name=c.agent_name,
            score=c.score,
            reasons=list(c.reasons),
            capability_score=c.capability_score,
            lexical_score=c.lexical_score,
            semantic_score=c.semantic_score,
        )
        for c in candidates
    ]


def decision_to_proto(decision: RoutingDecision) -> routing_pb2.RoutingDecision:
    """The RoutingDecision message."""
    message = routing_pb2.RoutingDecision()
    fill_decision(message, decision)
    return message


def fill_decision(message: routing_pb2.RoutingDecision, decision: RoutingDecision) -> None:
    """Writes the decision into an empty message in place: on Route's path, no sub-message is built twice."""
    for c in decision.candidates:
        message.candidates.add(
            agent_name=c.agent_name,
            score=c.score,
            reasons=c.reasons,
            capability_score=c.capability_score,
            lexical_score=c.lexical_score,
            semantic_score=c.semantic_score,
        )
    message.selected_agents.extend(decision.selected_agents)
    message.stage2 = _STAGE2_TO_PROTO[decision.stage2]
    message.stage2_reason = decision.stage2_reason
    message.analysis = decision.analysis
    message.session_id = decision.session_id
    message.abstained = decision.abstained
    message.clauses.extend(decision.clauses)


def result_to_proto(result: AgentResult) -> router_service_pb2.AgentResult:
    """The AgentResult message."""
    return router_service_pb2.AgentResult(
        agent_name=result.agent_name,
        response=result.response,
        success=result.success,
        duration_ms=result.duration_ms,
        error=result.error,
    )


def cases_from_proto(cases: Iterable[router_service_pb2.RoutingCase]) -> list[RoutingCase]:
    """The routing cases of an EvaluateRouting request."""
    return [RoutingCase(c.query, c.previous_agent, tuple(c.expected_agents)) for c in cases]


def case_to_proto(case: RoutingCase) -> router_service_pb2.RoutingCase:
    """The RoutingCase message."""
    return router_service_pb2.RoutingCase(
        query=case.query, previous_agent=case.previous_agent, expected_agents=list(case.expected_agents)
    )


def report_to_proto(report: EvaluationReport) -> router_service_pb2.EvaluateRoutingResponse:
    """The EvaluateRoutingResponse message."""
    return router_service_pb2.EvaluateRoutingResponse(
        case_count=report.case_count,
        exact_accuracy=report.exact_accuracy,
        recall_at_1=report.recall_at[1],
        recall_at_3=report.recall_at[3],
        recall_at_10=report.recall_at[10],
        abstention_precision=report.abstention_precision,
        abstention_recall=report.abstention_recall,
        out_of_scope_count=report.out_of_scope_count,
        miss_count=report.miss_count,
        misses=[
            router_service_pb2.RoutingMiss(case=case_to_proto(m.case), decision=decision_to_proto(m.decision))
            for m in report.misses
        ],
    )


def chunk_to_proto(chunk: AgentChunk) -> router_service_pb2.AgentChunk:
    """The AgentChunk message."""
    return router_service_pb2.AgentChunk(agent_name=chunk.agent_name, text=chunk.text)
