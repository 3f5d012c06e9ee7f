"""Glossary demo agent: a Google ADK agent (a BaseAgent subclass) that explains company terms, no LLM."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

from google.adk.agents import BaseAgent
from google.adk.agents.invocation_context import InvocationContext
from google.adk.events import Event
from google.genai import types

TERMS = {
    "sla": "SLA (service-level agreement): the response and resolution times IT commits to per priority.",
    "vpn": "VPN (virtual private network): the encrypted tunnel required for internal systems off-site.",
    "sso": "SSO (single sign-on): one company login for every internal tool, with two-factor sign-in.",
    "finops": "FinOps: the practice of making teams accountable for the cloud spend their services cause.",
    "okr": "OKR (objectives and key results): the quarterly goals every team publishes and scores.",
    "pto": "PTO (paid time off): holiday and personal days, booked in the HR portal.",
}


class GlossaryAgent(BaseAgent):
    """Explains the terms named in the user's message, streaming one definition per partial event."""

    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        text = _user_text(ctx)
        wanted = [TERMS[word] for word in dict.fromkeys(re.findall(r"[a-z]+", text.lower())) if word in TERMS]
        lines = wanted or [f"I can explain these terms: {', '.join(sorted(t.upper() for t in TERMS))}."]
        for index, line in enumerate(lines):
            piece = line if index == 0 else "\n" + line
            yield Event(
                author=self.name, invocation_id=ctx.invocation_id, partial=True, content=_model(piece)
            )
        yield Event(author=self.name, invocation_id=ctx.invocation_id, content=_model("\n".join(lines)))


def _user_text(ctx: InvocationContext) -> str:
    content = ctx.user_content
    if content is None or not content.parts:
        return ""
    return " ".join(part.text for part in content.parts if part.text)


def _model(text: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=text)])


def create_glossary_agent() -> GlossaryAgent:
    """Builds the glossary agent."""
    return GlossaryAgent(name="glossary", description="Explains company acronyms and terms.")
