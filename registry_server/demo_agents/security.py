"""An example agent: answers security questions from a small fixed report, offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPORTS = {
    "eu": "No open vulnerabilities in eu; 2 certificates expire within 30 days (api.eu, mail.eu).",
    "us": "1 open vulnerability in us (CVE-2024-3094, patch scheduled); all certificates valid.",
}


class SecurityAgent:
    """Reports the security posture of one region."""

    def __init__(self, region: str) -> None:
        self.region = region

    async def run(self, query: str, context: Mapping[str, Any]) -> str:
        """The region's latest report."""
        return REPORTS.get(self.region, f"No security report for region {self.region!r}.")


def create_security_agent(region: str = "eu") -> SecurityAgent:
    """The factory the registry calls; `region` comes from factory.kwargs."""
    return SecurityAgent(region)
