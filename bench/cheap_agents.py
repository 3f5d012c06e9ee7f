"""A factory as cheap as a factory can be, so start-up figures measure the registry, not the agents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CheapAgent:
    """Answers at once."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        return f"{self.name}: {query}"


def create_cheap_agent(name: str = "cheap") -> CheapAgent:
    return CheapAgent(name)
