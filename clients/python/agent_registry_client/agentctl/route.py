"""`agentctl route "query" [--invoke]`: the routing decision, or a whole turn printed as it streams."""

from __future__ import annotations

import argparse

from agent_registry_client.agentctl.command import Invocation, handler
from agent_registry_client.agentctl.output import plain
from agent_registry_client.routing_models import AgentResult, Completed, RoutingDecision

CANDIDATE_COLUMNS = ("agent_name", "score", "reasons")


def _print_decision(run: Invocation, decision: RoutingDecision) -> None:
    if run.args.output != "table":
        run.show(decision)
        return
    run.show([plain(candidate) for candidate in decision.candidates], CANDIDATE_COLUMNS)
    chosen = ", ".join(decision.selected_agents) or "no agent"
    run.out.write(f"-> {chosen} (stage 2 {str(plain(decision.stage2)).lower()}: {decision.stage2_reason})\n")


async def route(run: Invocation) -> None:
    """Routes the query; with --invoke, runs the agents and prints each event as it arrives."""
    args = run.args
    router = run.client.router
    if not args.invoke:
        decision = await router.route(args.query, session_id=args.session, user_id=args.user)
        _print_decision(run, decision)
        return
    async for event in router.route_and_invoke(args.query, session_id=args.session, user_id=args.user):
        if run.args.output != "table":
            run.out.write(run_line(run, event))
        elif isinstance(event, RoutingDecision):
            _print_decision(run, event)
        elif isinstance(event, AgentResult):
            status = f"{event.duration_ms} ms" if event.success else f"failed: {event.error}"
            run.out.write(f"\n[{event.agent_name}, {status}]\n{event.response}\n")
        elif isinstance(event, Completed):
            run.out.write(f"\nsession: {event.session_id}\n")
        run.out.flush()


def run_line(run: Invocation, event: object) -> str:
    """One streamed event in JSON or YAML, tagged with its kind."""
    from agent_registry_client.agentctl.output import render

    document = {type(event).__name__: plain(event)}
    text = render(document, run.args.output)
    return text if run.args.output == "json" else "---\n" + text


def add_commands(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `route` command."""
    command = groups.add_parser("route", help="route a query (and with --invoke, answer it)")
    command.add_argument("query")
    command.add_argument(
        "--invoke", action="store_true", help="run the chosen agents and stream their answers"
    )
    command.add_argument("--session", default="", help="continue this session")
    command.add_argument("--user", default="", help="the user the turn is for")
    handler(command, route)
