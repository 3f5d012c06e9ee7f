"""Tickets demo agent: IT service-desk tickets from local data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from registry_server.demo_agents.data_files import load_data

STATUSES = ("in progress", "pending", "completed")


class TicketsAgent:
    """Answers questions about the user's IT tickets."""

    def __init__(self, tickets: list[dict[str, Any]]) -> None:
        self.tickets = tickets

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        """Lists the tickets, or details one ticket, a status, or all of them on a follow-up."""
        text = query.lower()
        wanted = [t for t in self.tickets if str(t["id"]) in re.findall(r"\d{5}", text)]
        if wanted:
            return "\n\n".join(self._details(t) for t in wanted)
        by_status = [t for t in self.tickets if t["status"].lower() in text]
        if by_status:
            return self._summary(by_status, f"{by_status[0]['status'].lower()} ")
        if "detail" in text or "more" in text.split():
            return "\n\n".join(self._details(t) for t in self.tickets)
        return self._summary(self.tickets, "")

    @staticmethod
    def _summary(tickets: list[dict[str, Any]], adjective: str) -> str:
        noun = "ticket" if len(tickets) == 1 else "tickets"
        lines = [f"You have {len(tickets)} {adjective}{noun}:"]
        lines += [f"{i}. {t['title']} (#{t['id']}) - {t['status']}" for i, t in enumerate(tickets, 1)]
        return "\n".join(lines)

    @staticmethod
    def _details(ticket: dict[str, Any]) -> str:
        return (
            f"Ticket #{ticket['id']} ({ticket['title']}):\n"
            f"  Status: {ticket['status']}\n  Created: {ticket['created']}\n"
            f"  Assignee: {ticket['assignee']}\n  {ticket['detail']}"
        )


def create_tickets_agent(data_file: str | None = None) -> TicketsAgent:
    """Builds the tickets agent from the bundled data, or from `data_file`."""
    return TicketsAgent(load_data("tickets.json", data_file))
