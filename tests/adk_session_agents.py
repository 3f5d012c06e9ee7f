"""ADK agents whose sessions the registry keeps: one on a fake model, one that a test can hold mid-turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from google.adk.agents import BaseAgent, LlmAgent
from google.adk.agents.invocation_context import InvocationContext
from google.adk.events import Event, EventActions
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types


class EchoingLlm(BaseLlm):
    """A fake model whose answer lists every text of the request it was sent (so tests can read it)."""

    model: str = "echoing-model"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        texts = [part.text for content in llm_request.contents for part in content.parts or () if part.text]
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=" / ".join(texts))]))


def create_noting_agent() -> LlmAgent:
    """An LlmAgent on the echoing model that keeps its last answer in the session state."""
    return LlmAgent(name="noter", model=EchoingLlm(), instruction="Answer briefly.", output_key="last_answer")


@dataclass
class Hold:
    """Holds a `gated` agent's turn that asks to wait, until the test releases it."""

    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


HOLD: Hold | None = None  # set by a test running agents in process


class GatedAgent(BaseAgent):
    """Answers "done: <query>" and sets the state key the query names; a query with "wait" is held."""

    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        query = (
            "".join(part.text or "" for part in (ctx.user_content.parts or ())) if ctx.user_content else ""
        )
        if "wait" in query and HOLD is not None:
            HOLD.waiting.set()
            await HOLD.release.wait()
        key = "shared_note" if "shared" in query else ("held_note" if "wait" in query else "quick_note")
        yield Event(
            author=self.name,
            invocation_id=ctx.invocation_id,
            content=types.Content(role="model", parts=[types.Part(text=f"done: {query}")]),
            actions=EventActions(state_delta={key: query}),
        )


def create_gated_agent() -> GatedAgent:
    return GatedAgent(name="gated", description="answers when the test lets it")
