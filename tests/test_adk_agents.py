"""Google ADK agents through RouteAndInvoke: a BaseAgent subclass and an LlmAgent on a fake model."""

from __future__ import annotations

import sys

import pytest

from agent_registry_client import Agent, AgentChunk, Factory, FailedPrecondition, RegistryClient
from registry_server.server import RegistryServer
from tests.agent_turns import ask, chunks_of, register, result_of, session_of
from tests.conftest import StartServer

ADK = "tests.adk_agents"


async def test_a_base_agent_streams_and_remembers_the_session(server: RegistryServer) -> None:
    await register(server, "recall_agent", Factory(ADK, "create_recall_agent"), "recall")
    first = await ask(server, "recall: my name is Ada")
    answer = result_of(first, "recall_agent")
    assert answer.success, answer.error
    assert chunks_of(first, "recall_agent")[:2] == ["turn", " 1"], "partial events stream as chunks"
    assert answer.response == "turn 1; the user said: recall: my name is Ada"
    second = await ask(server, "recall what I said", session_of(first))
    assert result_of(second, "recall_agent").response == (
        "turn 2; the user said: recall: my name is Ada | recall what I said"
    ), "the second turn runs in the same ADK session as the first"


async def test_an_llm_agent_on_a_fake_model_sees_the_previous_turn(server: RegistryServer) -> None:
    await register(server, "assistant_agent", Factory(ADK, "create_llm_agent"), "assistant")
    first = await ask(server, "assistant: what is two plus two")
    answer = result_of(first, "assistant_agent")
    assert answer.success, answer.error
    assert answer.response == "model saw: assistant: what is two plus two"
    assert len(chunks_of(first, "assistant_agent")) >= 2, "the model's partial responses stream"
    second = await ask(server, "assistant: and times three", session_of(first))
    follow_up = result_of(second, "assistant_agent").response
    assert follow_up.startswith("model saw: assistant: what is two plus two / ")
    assert follow_up.endswith("assistant: and times three")


async def test_the_previous_turn_of_another_agent_is_sent_as_context(server: RegistryServer) -> None:
    await register(server, "assistant_agent", Factory(ADK, "create_llm_agent"), "assistant")
    first = await ask(server, "show my tickets")
    second = await ask(server, "assistant: summarise that", session_of(first))
    seen = result_of(second, "assistant_agent").response
    assert "Previous turn, for context. The user asked: show my tickets" in seen
    assert "VPN Access" in seen


async def test_an_error_event_fails_the_agent(server: RegistryServer) -> None:
    await register(server, "failing_agent", Factory(ADK, "create_failing_adk_agent"), "failing")
    result = result_of(await ask(server, "failing"), "failing_agent")
    assert not result.success and result.error == "the ADK agent reported QUOTA: out of quota"


@pytest.mark.parametrize("workers", [1, 0])
async def test_adk_agents_run_with_and_without_workers(start: StartServer, workers: int) -> None:
    server = await start(agent_workers=workers)
    await register(server, "recall_agent", Factory(ADK, "create_recall_agent"), "recall")
    events = await ask(server, "recall this")
    assert any(isinstance(e, AgentChunk) for e in events)
    assert result_of(events, "recall_agent").response == "turn 1; the user said: recall this"


async def test_an_adk_agent_without_google_adk_is_a_clear_failed_precondition(
    start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start(agent_workers=0)
    # What an install without the [adk] extra sees: no google.adk module at all.
    for name in [name for name in sys.modules if name == "google.adk" or name.startswith("google.adk.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "google.adk", None)
    monkeypatch.delitem(sys.modules, ADK, raising=False)
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        with pytest.raises(FailedPrecondition, match=r"needs google-adk.*agent-registry\[adk\]"):
            await client.register_agent(Agent("recall_agent", Factory(ADK, "create_recall_agent")))


async def test_the_default_glossary_agent_answers_without_an_llm(server: RegistryServer) -> None:
    events = await ask(server, "what does SLA mean")
    result = result_of(events, "glossary_agent")
    assert result.success and result.response.startswith("SLA (service-level agreement)")
    assert chunks_of(events, "glossary_agent"), "its partial events stream"
