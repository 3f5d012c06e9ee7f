"""Routing evaluation files: labelled cases read from YAML or JSON, and the report as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from agent_registry_client.routing_models import RoutingCase, RoutingReport


class CaseFileError(ValueError):
    """A cases file that cannot be read or is malformed; the message says where."""


def load_cases(path: Path) -> list[RoutingCase]:
    """The cases of a YAML or JSON file: a list (or `{cases: [...]}`) of `{query, expected, previous_agent}`.

    `expected` (alias `gold`, as in the development data) is a list of agent names, empty or absent for a
    query no agent should take.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CaseFileError(f"cannot read the cases file {path}: {error}") from error
    if isinstance(document, dict):
        document = document.get("cases")
    if not isinstance(document, list) or not document:
        raise CaseFileError(f"{path} must hold a non-empty list of cases (or a mapping with 'cases')")
    return [_case(entry, number, path) for number, entry in enumerate(document)]


def _case(entry: Any, number: int, path: Path) -> RoutingCase:
    where = f"{path}: case {number}"
    if isinstance(entry, str):
        raise CaseFileError(f"{where} is a bare string; write {{query: ..., expected: [...]}}")
    if not isinstance(entry, dict):
        raise CaseFileError(f"{where} must be a mapping with 'query' and 'expected'")
    query = entry.get("query", entry.get("q"))
    if not isinstance(query, str) or not query.strip():
        raise CaseFileError(f"{where} needs a non-empty 'query'")
    expected = entry.get("expected", entry.get("gold")) or []
    if not isinstance(expected, list) or not all(isinstance(name, str) for name in expected):
        raise CaseFileError(f"{where}: 'expected' must be a list of agent names")
    previous = entry.get("previous_agent", "") or ""
    if not isinstance(previous, str):
        raise CaseFileError(f"{where}: 'previous_agent' must be an agent name")
    return RoutingCase(query, tuple(expected), previous)


def report_to_dict(report: RoutingReport, *, misses_shown: int | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data (the first `misses_shown` misses, all by default)."""
    misses = report.misses if misses_shown is None else report.misses[:misses_shown]
    return {
        "cases": report.case_count,
        "exact_accuracy": round(report.exact_accuracy, 4),
        "recall_at_1": round(report.recall_at_1, 4),
        "recall_at_3": round(report.recall_at_3, 4),
        "recall_at_10": round(report.recall_at_10, 4),
        "abstention_precision": round(report.abstention_precision, 4),
        "abstention_recall": round(report.abstention_recall, 4),
        "out_of_scope_cases": report.out_of_scope_count,
        "misses": report.miss_count,
        "first_misses": [
            {
                "query": miss.case.query,
                "expected": list(miss.case.expected_agents),
                "selected": list(miss.decision.selected_agents),
                "candidates": [[c.agent_name, round(c.score, 3)] for c in miss.decision.candidates[:3]],
                "reason": miss.decision.stage2_reason,
            }
            for miss in misses
        ],
    }


def format_report(report: RoutingReport, *, misses_shown: int | None = None) -> str:
    """The report as indented JSON."""
    return json.dumps(report_to_dict(report, misses_shown=misses_shown), indent=2)
