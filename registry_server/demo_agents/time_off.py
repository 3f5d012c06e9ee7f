"""Time-off demo agent: the user's leave balance, taken and planned days, and public holidays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry_server.demo_agents.data_files import load_data


class TimeOffAgent:
    """Answers questions about the user's holidays from local HR data."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        """The balance; the days taken and planned; public holidays when asked for them."""
        record = self.record
        taken = sum(entry["days"] for entry in record["taken"])
        planned = sum(entry["days"] for entry in record["planned"])
        left = record["allowance_days"] - taken - planned
        lines = [
            f"Time off in {record['year']}: {record['allowance_days']} days allowed, {taken} taken, "
            f"{planned} planned, {left} left to book."
        ]
        text = query.lower()
        if "public" in text or "holiday" in text:
            lines.append("Coming public holidays:")
            lines += [f"  {day['date']}: {day['name']}" for day in record["public_holidays"]]
        if "detail" in text or "taken" in text or "planned" in text:
            lines.append("Booked:")
            lines += [
                f"  {entry['from']} to {entry['to']} ({entry['days']} days, {entry['reason']})"
                for entry in (*record["taken"], *record["planned"])
            ]
        return "\n".join(lines)


def create_time_off_agent(data_file: str | None = None) -> TimeOffAgent:
    """Builds the time-off agent from the bundled data, or from `data_file`."""
    return TimeOffAgent(load_data("time_off.json", data_file))
