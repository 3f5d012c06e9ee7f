"""Stage 2 through the real google-genai client against a fake Gemini on loopback, and every fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent_registry_client import RouterClient, SessionClient
from registry_server.agents.agent_host import AgentHost
from registry_server.agents.module_allowlist import DEMO_AGENTS_PACKAGE
from registry_server.domain.routing import SessionContext, Stage2Outcome
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.journal_store import JournalStore
from registry_server.routing.config import RoutingConfig
from registry_server.routing.gemini_selector import GeminiSelector
from registry_server.routing.router import Router
from tests.conftest import AGENT_MODULES, DEFAULTS_FILE, StartServer
from tests.fake_gemini import FakeGemini
from tests.routing_agents import WORKPLACE, registered

MULTI = "show my tickets and courses"


DEMO_MODULES = (DEMO_AGENTS_PACKAGE,)


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[AgentRegistry]:
    registry = AgentRegistry(
        JournalStore(tmp_path, DEFAULTS_FILE), builder=AgentHost(DEMO_MODULES, 0, 1 << 18)
    )
    await registry.load()
    yield registry


def router_for(registry: AgentRegistry, gemini: FakeGemini, timeout_s: float = 3.0) -> Router:
    selector = GeminiSelector("test-key", "gemini-test-flash", timeout_s, gemini.base_url)
    return Router(registry, RoutingConfig(), selector)


async def test_good_answer_is_used(registry: AgentRegistry, gemini: FakeGemini) -> None:
    gemini.indices = [1]
    context = SessionContext("s1", "tickets_agent", "show my tickets", "You have 3 tickets: VPN Access ...")
    decision = await router_for(registry, gemini).decide(MULTI, context)
    assert decision.stage2 is Stage2Outcome.LLM
    assert decision.selected_agents == ("oxygen_agent",), "Gemini's choice wins over the offline one"
    assert decision.analysis == "the user wants these"
    assert "they cover the request" in decision.stage2_reason
    [request] = gemini.requests
    assert request["path"].endswith("/models/gemini-test-flash:generateContent")
    assert request["key"] == "test-key"
    config = request["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert set(config["responseSchema"]["properties"]) == {"analysis", "selected_agent_indices", "reasoning"}
    prompt = gemini.prompts()[0]
    for expected in (
        "0: tickets_agent",
        "1: oxygen_agent",
        "Previous request: 'show my tickets'",
        "Agent that answered it: tickets_agent",
        "You have 3 tickets",
        f"Request: {MULTI!r}",
        "Learning and development platform",
        "stage-1 score",
    ):
        assert expected in prompt


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("malformed", "not JSON"),
        ("out_of_range", "indices [7] outside 0-1"),
        ("no_indices", "no list of selected_agent_indices"),
        ("429", "HTTP 429"),
        ("500", "HTTP 500"),
        ("hang", "did not answer within 0.5 s"),
    ],
)
async def test_every_failure_falls_back_and_says_why(
    registry: AgentRegistry, gemini: FakeGemini, mode: str, reason: str
) -> None:
    gemini.mode = mode
    decision = await router_for(registry, gemini, timeout_s=0.5).decide(MULTI)
    assert decision.stage2 is Stage2Outcome.FALLBACK
    assert reason in decision.stage2_reason and "offline selector" in decision.stage2_reason
    assert decision.selected_agents == ("tickets_agent", "oxygen_agent")
    assert len(gemini.requests) == 1, "no retries: the deadline is for the whole of stage 2"


async def test_the_prompt_shows_each_candidates_examples_and_the_previous_turn(
    tmp_path: Path, gemini: FakeGemini
) -> None:
    registry = AgentRegistry(
        JournalStore(tmp_path, tmp_path / "no-defaults.yaml"), builder=AgentHost(AGENT_MODULES, 0, 1 << 18)
    )
    await registry.load()
    for agent in WORKPLACE[:3]:
        await registry.register(registered(agent).spec)
    gemini.indices = [0]
    context = SessionContext("s1", "incidents_agent", "show my open incidents", "You have 2 open incidents")
    decision = await router_for(registry, gemini).decide("show my open incidents and book a room", context)
    assert decision.stage2 is Stage2Outcome.LLM
    prompt = gemini.prompts()[0]
    assert "IT service desk: incidents, outages and support tickets" in prompt
    assert (
        'e.g. "show my open incidents"; "what is the status of my support ticket"; "is there an outage'
        in prompt
    )
    assert "escalate the printer incident" not in prompt, "three examples per candidate"
    assert "Previous request: 'show my open incidents'" in prompt and "You have 2 open incidents" in prompt
    assert "select none (an empty list)" in prompt


async def test_gemini_may_abstain(registry: AgentRegistry, gemini: FakeGemini) -> None:
    gemini.mode = "empty"
    decision = await router_for(registry, gemini).decide(MULTI)
    assert decision.stage2 is Stage2Outcome.LLM and decision.selected_agents == ()
    assert decision.abstained and "no agent matched" in decision.stage2_reason


async def test_stage1_abstention_never_asks_gemini(registry: AgentRegistry, gemini: FakeGemini) -> None:
    decision = await router_for(registry, gemini).decide("what is the weather in Lisbon")
    assert decision.abstained and decision.selected_agents == () and gemini.requests == []


async def test_unreachable_gemini_falls_back(registry: AgentRegistry) -> None:
    selector = GeminiSelector("k", "m", 2.0, "http://127.0.0.1:9")  # the discard port: connection refused
    decision = await Router(registry, RoutingConfig(), selector).decide(MULTI)
    assert decision.stage2 is Stage2Outcome.FALLBACK and "could not be reached" in decision.stage2_reason


async def test_single_candidate_never_asks_gemini(registry: AgentRegistry, gemini: FakeGemini) -> None:
    decision = await router_for(registry, gemini).decide("show my tickets")
    assert decision.stage2 is Stage2Outcome.SKIPPED and decision.selected_agents == ("tickets_agent",)
    assert gemini.requests == []


async def test_without_a_key_the_offline_selector_decides(registry: AgentRegistry) -> None:
    decision = await Router(registry, RoutingConfig(), None).decide(MULTI)
    assert decision.stage2 is Stage2Outcome.FALLBACK
    assert "no Gemini API key" in decision.stage2_reason


async def test_server_uses_gemini_from_the_environment_key(start: StartServer, gemini: FakeGemini) -> None:
    gemini.indices = [0, 1]
    server = await start(
        gemini_api_key="env-key", gemini_base_url=gemini.base_url, gemini_model="gemini-x-flash"
    )
    target = f"127.0.0.1:{server.port}"
    async with RouterClient(target) as router, SessionClient(target) as sessions:
        events = [event async for event in router.route_and_invoke(MULTI, user_id="alice")]
        decision = events[0]
        assert decision.stage2 == "LLM" and decision.selected_agents == ("tickets_agent", "oxygen_agent")
        session = await sessions.get_session(events[-1].session_id)
        assert session.invocation_count == 2
    assert gemini.requests[0]["key"] == "env-key"
