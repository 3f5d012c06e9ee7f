"""`agentctl routing eval cases.yaml`: labelled cases routed against the live registry, and the report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agent_registry_client.agentctl.command import CommandError, Invocation, handler
from agent_registry_client.routing_eval import CaseFileError, load_cases, report_to_dict

MISS_COLUMNS = ("query", "expected", "selected", "candidates")
MAX_MISSES_ALLOWED = 1000  # the server's own bound on max_misses


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures, without the list of misses."""
    return {key: value for key, value in report.items() if key != "first_misses"}


def _miss_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per miss, the candidates as `name:score`."""
    return [
        {
            "query": miss["query"],
            "expected": miss["expected"] or ["(none)"],
            "selected": miss["selected"] or ["(none)"],
            "candidates": [f"{name}:{score}" for name, score in miss["candidates"]],
        }
        for miss in report["first_misses"]
    ]


async def evaluate(run: Invocation) -> None:
    """Routes every case of the file without running agents or writing sessions, and prints the report."""
    try:
        cases = load_cases(Path(run.args.cases))
    except CaseFileError as error:
        raise CommandError(str(error)) from None
    report = report_to_dict(await run.client.router.evaluate_routing(cases, max_misses=run.args.max_misses))
    if run.args.output != "table":
        run.show(report)
        return
    run.show(_summary(report))
    if report["first_misses"]:
        run.out.write("\n")
        run.show(_miss_rows(report), MISS_COLUMNS)


def _max_misses(text: str) -> int:
    """A --max-misses value: a whole number from 0 (the server's default) to the server's bound."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_MISSES_ALLOWED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_MISSES_ALLOWED}")
    return value


def add_commands(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `routing eval` command."""
    group = groups.add_parser("routing", help="measure routing on labelled cases (admin)")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser(
        "eval", help="route a cases file against the live registry and print accuracy, recall and misses"
    )
    command.add_argument("cases", help="YAML or JSON: a list of {query, expected: [agents], previous_agent}")
    command.add_argument(
        "--max-misses",
        type=_max_misses,
        default=0,
        help="misses listed in the report (0: the server's default); the figures count them all",
    )
    handler(command, evaluate)
