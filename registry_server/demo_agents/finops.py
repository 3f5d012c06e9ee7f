"""FinOps demo agent: a month of cloud costs from local data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from registry_server.demo_agents.data_files import load_data


class FinOpsAgent:
    """Answers questions about last month's cloud spending."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.by_service: dict[str, float] = defaultdict(float)
        for day in report["days"]:
            for service, cost in day["costs"].items():
                self.by_service[service] += cost
        self.total = sum(self.by_service.values())

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        """Summarises the month: total against budget, costs by service, and the most expensive day."""
        currency, budget = self.report["currency"], self.report["budget"]
        ranked = sorted(self.by_service.items(), key=lambda item: item[1], reverse=True)
        peak = max(self.report["days"], key=lambda day: sum(day["costs"].values()))
        lines = [
            f"Cloud costs for {self.report['month']}: {self.total:,.2f} {currency} "
            f"({self.total / budget:.0%} of the {budget:,.0f} {currency} budget).",
            "By service:",
            *(f"  {service}: {cost:,.2f} {currency}" for service, cost in ranked),
            f"Most expensive day: {peak['date']} ({sum(peak['costs'].values()):,.2f} {currency}).",
        ]
        if "forecast" in query.lower():
            daily = self.total / len(self.report["days"])
            lines.append(f"At this rate next month costs about {daily * 30:,.2f} {currency}.")
        return "\n".join(lines)


def create_finops_agent(data_file: str | None = None) -> FinOpsAgent:
    """Builds the FinOps agent from the bundled data, or from `data_file`."""
    return FinOpsAgent(load_data("cloud_costs.json", data_file))
