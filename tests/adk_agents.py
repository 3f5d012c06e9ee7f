"""Google ADK agents for tests, with no network: a BaseAgent subclass and an LlmAgent on a fake model."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from google.adk.agents import BaseAgent, LlmAgent
from google.adk.agents.invocation_context import InvocationContext
from google.adk.events import Event
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types


def _content(text: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=text)])


class RecallAgent(BaseAgent):
    """Streams "turn N" in partial events, then a final answer naming the user's earlier messages."""

    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        said = [
            part.text
            for event in ctx.session.events
            if event.author == "user" and event.content
            for part in event.content.parts or ()
            if part.text
        ]
        turn = f"turn {len(said)}"
        for piece in (turn[:4], turn[4:]):
            yield Event(
                author=self.name, invocation_id=ctx.invocation_id, partial=True, content=_content(piece)
            )
        answer = f"{turn}; the user said: {' | '.join(said)}"
        yield Event(author=self.name, invocation_id=ctx.invocation_id, content=_content(answer))


class FailingAdkAgent(BaseAgent):
    """Yields an error event."""

    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        yield Event(
            author=self.name,
            invocation_id=ctx.invocation_id,
            error_code="QUOTA",
            error_message="out of quota",
        )


class FakeLlm(BaseLlm):
    """A model that answers with every text of the request it was sent, streamed in two parts."""

    model: str = "fake-model"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        texts = [part.text for content in llm_request.contents for part in content.parts or () if part.text]
        answer = "model saw: " + " / ".join(texts)
        if stream:
            yield LlmResponse(content=_content(answer[:11]), partial=True)
            yield LlmResponse(content=_content(answer[11:]), partial=True)
        yield LlmResponse(content=_content(answer))


def create_recall_agent() -> RecallAgent:
    return RecallAgent(name="recall", description="remembers what the user said")


def create_failing_adk_agent() -> FailingAdkAgent:
    return FailingAdkAgent(name="failing")


def create_llm_agent() -> LlmAgent:
    return LlmAgent(name="assistant", model=FakeLlm(), instruction="Answer briefly.")
