"""Runs one demo agent as an A2A service, e.g. `python -m registry_server.demo_agents.serve tickets`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from a2a.types.a2a_pb2 import AgentSkill

from registry_server.demo_agents.a2a_service import RunnableAgentExecutor, a2a_app, agent_card
from registry_server.demo_agents.finops import create_finops_agent
from registry_server.demo_agents.learning import create_oxygen_agent
from registry_server.demo_agents.tickets import create_tickets_agent


@dataclass(frozen=True)
class DemoService:
    """A demo agent as the original design deployed it: its own service on its own port."""

    factory: Callable[[], Any]
    name: str
    description: str
    port: int
    skills: tuple[AgentSkill, ...]
    streaming: bool = True


SERVICES = {
    "tickets": DemoService(
        create_tickets_agent,
        "Tickets Agent",
        "IT service desk: lists, tracks and details the user's tickets.",
        5001,
        (
            AgentSkill(
                id="tickets",
                name="IT tickets",
                description="Lists the user's tickets, by status, or one ticket in detail.",
                tags=["tickets", "it_support", "helpdesk", "vpn", "access"],
                examples=["show my tickets", "which tickets are pending", "details of ticket 12301"],
            ),
        ),
    ),
    "finops": DemoService(
        create_finops_agent,
        "FinOps Agent",
        "Cloud financial operations: costs by service, budget use and forecasts.",
        5002,
        (
            AgentSkill(
                id="cloud_costs",
                name="cloud costs",
                description="Last month's cloud costs against the budget, and a forecast.",
                tags=["finops", "costs", "budget", "billing", "spend"],
                examples=["what did we spend on cloud last month", "forecast next month's cloud costs"],
            ),
        ),
    ),
    "oxygen": DemoService(
        create_oxygen_agent,
        "Oxygen Learning Agent",
        "Learning platform: enrolled courses, progress and certifications.",
        8002,
        (
            AgentSkill(
                id="courses",
                name="courses",
                description="The user's enrolled courses and progress, with next modules on request.",
                tags=["courses", "learning", "training", "certification"],
                examples=["show my courses", "what is my next module"],
            ),
        ),
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Serves the chosen demo agent until interrupted."""
    parser = argparse.ArgumentParser(description="Serve a demo agent over A2A.")
    parser.add_argument("agent", choices=sorted(SERVICES))
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; default 127.0.0.1")
    parser.add_argument("--port", type=int, help="port; default the agent's own (tickets 5001, ...)")
    args = parser.parse_args(argv)
    service = SERVICES[args.agent]
    port = args.port or service.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    card = agent_card(
        service.name,
        service.description,
        f"http://{args.host}:{port}/",
        service.skills,
        streaming=service.streaming,
    )
    app = a2a_app(card, RunnableAgentExecutor(service.factory()))
    uvicorn.run(app, host=args.host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
