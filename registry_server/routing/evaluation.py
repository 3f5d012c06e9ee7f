"""Routing evaluation: labelled cases routed against the live index, without running agents or writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from registry_server.domain.errors import FieldViolation, ValidationError
from registry_server.domain.routing import RoutingDecision, SessionContext
from registry_server.registry.validation import NAME_PATTERN
from registry_server.routing.router import Router

MAX_CASES = 10_000
DEFAULT_MAX_MISSES = 100
MAX_MISSES = 1_000
RECALL_DEPTHS = (1, 3, 10)


@dataclass(frozen=True)
class RoutingCase:
    """A query, the agent of the previous turn (or ""), and the agents that should answer (maybe none)."""

    query: str
    previous_agent: str = ""
    expected_agents: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingMiss:
    """A case whose selected agents differ from the expected set, with the decision."""

    case: RoutingCase
    decision: RoutingDecision


@dataclass(frozen=True)
class EvaluationReport:
    """How well routing did on the cases."""

    case_count: int
    exact_accuracy: float
    recall_at: dict[int, float]
    abstention_precision: float
    abstention_recall: float
    out_of_scope_count: int
    miss_count: int
    misses: tuple[RoutingMiss, ...]


def validate_cases(router: Router, cases: Sequence[RoutingCase], max_misses: int) -> None:
    """Raises ValidationError for no or too many cases, a bad query or agent name, or a bad max_misses."""
    if not cases:
        raise ValidationError.single("cases", "at least one case is required")
    if len(cases) > MAX_CASES:
        raise ValidationError.single("cases", f"{len(cases)} cases; at most {MAX_CASES} per call")
    if not 0 <= max_misses <= MAX_MISSES:
        raise ValidationError.single("max_misses", f"must be 0 (the default, 100) to {MAX_MISSES}")
    violations: list[FieldViolation] = []
    for number, case in enumerate(cases):
        try:
            router.validate_query(case.query)
        except ValidationError as error:
            violations += [FieldViolation(f"cases[{number}].query", v.description) for v in error.violations]
        names = [("previous_agent", case.previous_agent)] if case.previous_agent else []
        names += [(f"expected_agents[{i}]", name) for i, name in enumerate(case.expected_agents)]
        violations += [
            FieldViolation(f"cases[{number}].{field}", "is not a valid agent name (^[a-z][a-z0-9_]{1,62}$)")
            for field, name in names
            if not NAME_PATTERN.match(name)
        ]
        if len(violations) >= 20:
            break
    if violations:
        raise ValidationError(violations[:20])


async def evaluate(router: Router, cases: Sequence[RoutingCase], max_misses: int = 0) -> EvaluationReport:
    """Routes every case (stage 1 and stage 2, never invoking an agent) and scores the decisions."""
    validate_cases(router, cases, max_misses)
    shown = max_misses or DEFAULT_MAX_MISSES
    exact = abstained = abstained_right = out_of_scope = 0
    recall_sums = dict.fromkeys(RECALL_DEPTHS, 0.0)
    in_scope = 0
    misses: list[RoutingMiss] = []
    miss_count = 0
    for case in cases:
        context = SessionContext(last_agent=case.previous_agent)
        decision = await router.decide(case.query, context)
        expected = set(case.expected_agents)
        selected = set(decision.selected_agents)
        if selected == expected:
            exact += 1
        else:
            miss_count += 1
            if len(misses) < shown:
                misses.append(RoutingMiss(case, decision))
        if not selected:
            abstained += 1
            abstained_right += not expected
        if not expected:
            out_of_scope += 1
            continue
        in_scope += 1
        ranked = [c.agent_name for c in router.candidates(case.query, context)]
        for depth in RECALL_DEPTHS:
            recall_sums[depth] += len(expected & set(ranked[:depth])) / len(expected)
    return EvaluationReport(
        case_count=len(cases),
        exact_accuracy=exact / len(cases),
        recall_at={depth: total / in_scope if in_scope else 0.0 for depth, total in recall_sums.items()},
        abstention_precision=abstained_right / abstained if abstained else 0.0,
        abstention_recall=abstained_right / out_of_scope if out_of_scope else 0.0,
        out_of_scope_count=out_of_scope,
        miss_count=miss_count,
        misses=tuple(misses),
    )
