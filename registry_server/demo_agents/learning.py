"""Oxygen demo agent: the learning platform's courses, streamed line by line."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from registry_server.demo_agents.data_files import load_data


class OxygenAgent:
    """Answers questions about the user's enrolled courses, one chunk per line."""

    def __init__(self, courses: list[dict[str, Any]]) -> None:
        self.courses = courses

    async def run(self, query: str, context: Mapping[str, Any]) -> AsyncIterator[str]:
        """Streams the course list, with next modules and due dates when details are asked for."""
        detailed = "detail" in query.lower() or "next" in query.lower()
        yield f"You have {len(self.courses)} enrolled courses:\n"
        for index, course in enumerate(self.courses, 1):
            line = f"{index}. {course['title']} - {course['progress']}% complete"
            if detailed:
                line += f" (next: {course['next_module']}, due {course['due']})"
            yield line + ("\n" if index < len(self.courses) else "")


def create_oxygen_agent(data_file: str | None = None) -> OxygenAgent:
    """Builds the learning agent from the bundled data, or from `data_file`."""
    return OxygenAgent(load_data("courses.json", data_file))
