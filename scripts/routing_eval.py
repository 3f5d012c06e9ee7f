"""Runs the built-in routing evaluation and prints JSON.

With `--cases FILE`: the cases against a running server (`--target`, `--token` for an admin token).
With the development data (`../shared/routing-dev/` beside the checkout, or `--dev DIR`) when present: each
suite's agents registered into a temporary server (with the demo tickets factory), then its queries, with
exact-set accuracy per kind of query. Without that folder the development part is skipped, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run by path from `make routing-eval`: the bench helpers live in the checkout

from agent_registry_client import Agent, Capabilities, Factory, RegistryClient, RouterClient  # noqa: E402
from agent_registry_client.routing_eval import load_cases, report_to_dict  # noqa: E402
from agent_registry_client.routing_models import RoutingCase  # noqa: E402
from bench.processes import start_server  # noqa: E402

DEFAULT_DEV = REPO.parent / "shared" / "routing-dev"
TICKETS = Factory("registry_server.demo_agents.tickets", "create_tickets_agent")
BATCH = 500
MISSES_SHOWN = 10


def dev_agent(entry: dict[str, Any]) -> Agent:
    """An agent of the development data (protobuf JSON field names) with the demo tickets factory."""
    terms = entry.get("capabilities", {})
    capabilities = Capabilities(
        **{
            key: tuple(terms.get(key, ()))
            for key in ("domains", "operations", "entities", "keywords", "examples")
        },
        priority=int(terms.get("priority", 0)),
    )
    return Agent(entry["name"], TICKETS, description=entry.get("description", ""), capabilities=capabilities)


async def evaluate_suite(target: str, agents: list[Agent], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Registers the suite's agents and evaluates its development queries, overall and per kind."""
    async with RegistryClient(target) as registry:
        for start in range(0, len(agents), BATCH):
            await registry.batch_register_agents(agents[start : start + BATCH])
    cases = [RoutingCase(row["q"], tuple(row["gold"])) for row in rows]
    async with RouterClient(target, turn_timeout=600) as router:
        overall = report_to_dict(await router.evaluate_routing(cases), misses_shown=MISSES_SHOWN)
        by_kind = {}
        for kind in sorted({row["kind"] for row in rows}):
            subset = [case for case, row in zip(cases, rows, strict=True) if row["kind"] == kind]
            report = await router.evaluate_routing(subset, max_misses=1)
            by_kind[kind] = {"cases": report.case_count, "exact_accuracy": round(report.exact_accuracy, 4)}
    return {"agents": len(agents), **overall, "exact_by_kind": by_kind}


def evaluate_dev(dev: Path) -> dict[str, Any]:
    """Every suite of the development folder, each in its own temporary server."""
    results: dict[str, Any] = {}
    for suite in sorted(p for p in dev.iterdir() if (p / "agents.json").is_file()):
        agents = [dev_agent(entry) for entry in json.loads((suite / "agents.json").read_text())]
        rows = json.loads((suite / "dev.json").read_text())
        with tempfile.TemporaryDirectory(prefix="routing-eval-") as data_dir:
            server = start_server(Path(data_dir))
            try:
                results[suite.name] = asyncio.run(evaluate_suite(server.target, agents, rows))
            finally:
                server.stop()
    return results


async def evaluate_file(cases: list[RoutingCase], target: str, token: str) -> dict[str, Any]:
    """The cases against the server at `target`."""
    async with RouterClient(target, token=token, turn_timeout=600) as router:
        return report_to_dict(await router.evaluate_routing(cases, max_misses=1000))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, help="YAML or JSON file of cases, run against --target")
    parser.add_argument("--target", default="127.0.0.1:8003", help="server for --cases (default %(default)s)")
    parser.add_argument("--token", default="", help="admin bearer token for --target, when auth is on")
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="development data folder")
    args = parser.parse_args()
    output: dict[str, Any] = {}
    if args.cases:
        report = asyncio.run(evaluate_file(load_cases(args.cases), args.target, args.token))
        output["cases_file"] = {"path": str(args.cases), **report}
    if (args.dev / "README.md").is_file():
        output["development"] = evaluate_dev(args.dev)
    else:
        output["development"] = {"skipped": f"no development data at {args.dev}"}
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
