"""An ADK Runner keeps its agent's session in the registry through RegistrySessionService, unchanged."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from google.adk.agents.llm_agent import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.genai import types

from agent_registry_client.adk import RegistrySessionService
from tests.conftest import StartServer


class CountingModel(BaseLlm):
    """A fake model that answers with how many user messages it has seen in the request."""

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        seen = sum(1 for content in llm_request.contents if content.role == "user")
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=f"message {seen}")]))


def user_message(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


async def test_a_runner_keeps_its_conversation_and_state_in_the_registry(start: StartServer) -> None:
    server = await start()
    target = f"127.0.0.1:{server.port}"
    agent = LlmAgent(name="counter", model=CountingModel(model="fake"), output_key="last_answer")
    service = RegistrySessionService(target=target)
    runner = Runner(app_name="counter_app", agent=agent, session_service=service)
    await service.create_session(app_name="counter_app", user_id="alice", session_id="chat")
    answers = []
    for text in ("hello", "again"):
        async for event in runner.run_async(
            user_id="alice", session_id="chat", new_message=user_message(text)
        ):
            if event.content and event.content.parts and event.author == "counter":
                answers.append(event.content.parts[0].text)
    await service.close()
    assert answers == ["message 1", "message 2"], "the second turn saw the first turn's history"
    fresh = RegistrySessionService(target=target)
    stored = await fresh.get_session(app_name="counter_app", user_id="alice", session_id="chat")
    await fresh.close()
    assert stored is not None and stored.state["last_answer"] == "message 2"
    assert [e.author for e in stored.events] == ["user", "counter", "user", "counter"]
