"""Stage 1: normalisation, weights, phrases, the context boost and the index, without a network."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from registry_server.agents.agent_host import AgentHost
from registry_server.agents.module_allowlist import DEMO_AGENTS_PACKAGE
from registry_server.domain.agent import AgentSpec, AgentState, Capabilities, FactoryRef, RegisteredAgent
from registry_server.domain.routing import CapabilityKind
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.document import parse_document
from registry_server.registry.journal_store import JournalStore
from registry_server.routing.capability_index import CapabilityIndex
from registry_server.routing.config import RoutingConfig, RoutingConfigError, load_routing_config
from registry_server.routing.router import Router
from registry_server.routing.text import fold_plural, tokens
from tests.conftest import DEFAULTS_FILE


def agent(
    name: str, enabled: bool = True, state: AgentState = AgentState.AVAILABLE, **capabilities: object
) -> RegisteredAgent:
    spec = AgentSpec(name, FactoryRef("m", "f"), capabilities=Capabilities(**capabilities), enabled=enabled)  # type: ignore[arg-type]
    return RegisteredAgent(spec, "etag", state)


@pytest.fixture
def demo_index() -> CapabilityIndex:
    index = CapabilityIndex(RoutingConfig())
    specs = parse_document(yaml.safe_load(DEFAULTS_FILE.read_text()))
    index.rebuild(RegisteredAgent(spec, "e", AgentState.AVAILABLE) for spec in specs)
    return index


@pytest.fixture
async def demo_router(tmp_path: Path) -> Router:
    registry = AgentRegistry(
        JournalStore(tmp_path, DEFAULTS_FILE),
        builder=AgentHost((DEMO_AGENTS_PACKAGE,), 0, 1 << 18),
    )
    await registry.load()
    return Router(registry, RoutingConfig(), None)


def scores(index: CapabilityIndex, query: str, last_agent: str = "") -> dict[str, float]:
    return {c.agent_name: c.score for c in index.score(query, last_agent)}


@pytest.mark.parametrize(
    ("word", "singular"),
    [
        ("tickets", "ticket"),
        ("courses", "course"),
        ("policies", "policy"),
        ("boxes", "box"),
        ("classes", "class"),
        ("matches", "match"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("bus", "bus"),
        ("vpn", "vpn"),
    ],
)
def test_plurals_fold_to_the_singular(word: str, singular: str) -> None:
    assert fold_plural(word) == singular


def test_tokens_ignore_case_punctuation_and_separators() -> None:
    assert tokens("Show MY Tickets, please!! (it_support) time-off") == (
        "show",
        "my",
        "ticket",
        "please",
        "it",
        "support",
        "time",
        "off",
    )


def test_original_design_scores(demo_index: CapabilityIndex) -> None:
    assert scores(demo_index, "show my tickets") == {"tickets_agent": 0.7}
    assert scores(demo_index, "show my tickets and courses") == {"tickets_agent": 0.7, "oxygen_agent": 0.7}
    assert scores(demo_index, "show me the details", last_agent="tickets_agent") == {"tickets_agent": 0.5}
    assert scores(demo_index, "now show my courses", last_agent="tickets_agent") == {"oxygen_agent": 0.7}
    assert scores(demo_index, "what is the weather") == {}


def test_candidates_carry_their_reasons(demo_index: CapabilityIndex) -> None:
    [tickets] = demo_index.score("Show my TICKETS about the VPN", "tickets_agent")
    assert tickets.score == 1.0, "0.4 + 0.3 + 0.1 keyword + 0.3 boost is capped at 1"
    assert tickets.reasons == (
        "domain 'tickets' (+0.4)",
        "entity 'ticket' (+0.3)",
        "keyword 'vpn' (+0.1)",
        "last agent of the session (+0.3)",
    )
    assert tickets.explicit


def test_multi_word_terms_match_as_phrases() -> None:
    index = CapabilityIndex(RoutingConfig())
    index.put(agent("hr_agent", keywords=("time off",), domains=("hr",)))
    index.put(agent("clock_agent", keywords=("time",)))
    assert scores(index, "request time off next week") == {"hr_agent": 0.1, "clock_agent": 0.1}
    assert scores(index, "what time is it, off we go") == {"clock_agent": 0.1}


def test_disabled_and_unavailable_agents_are_never_candidates() -> None:
    index = CapabilityIndex(RoutingConfig())
    index.put(agent("on_agent", domains=("tickets",)))
    index.put(agent("off_agent", enabled=False, domains=("tickets",)))
    index.put(agent("broken_agent", state=AgentState.UNAVAILABLE, domains=("tickets",)))
    assert scores(index, "tickets", last_agent="off_agent") == {"on_agent": 0.4}


def test_index_follows_changes() -> None:
    index = CapabilityIndex(RoutingConfig())
    index.put(agent("a_agent", domains=("alpha",)))
    index.put(agent("a_agent", domains=("beta",)))
    assert scores(index, "alpha") == {} and scores(index, "beta") == {"a_agent": 0.4}
    index.put(agent("a_agent", enabled=False, domains=("beta",)))
    assert scores(index, "beta") == {} and len(index) == 0
    index.put(agent("a_agent", domains=("beta",)))
    index.remove("a_agent")
    assert scores(index, "beta") == {}


def test_min_score_top_k_and_ties() -> None:
    index = CapabilityIndex(replace(RoutingConfig(), top_k=3, min_score=0.2))
    for number in range(6):
        index.put(agent(f"agent_{number}", domains=("shared",), priority=number))
    index.put(agent("weak_agent", keywords=("shared",)))
    ranked = index.score("shared")
    assert [c.agent_name for c in ranked] == ["agent_5", "agent_4", "agent_3"], "priority breaks ties"


def test_equal_scores_keep_the_order_the_query_mentions_them(demo_index: CapabilityIndex) -> None:
    assert [c.agent_name for c in demo_index.score("tickets and courses")] == [
        "tickets_agent",
        "oxygen_agent",
    ]
    assert [c.agent_name for c in demo_index.score("courses and tickets")] == [
        "oxygen_agent",
        "tickets_agent",
    ]


def test_weights_are_configuration(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("weights: {domain: 0.5, keyword: 0.25}\ncontext_boost: 0.1\ntop_k: 3\n")
    config = load_routing_config(path, RoutingConfig())
    assert config.weights[CapabilityKind.DOMAIN] == 0.5 and config.weights[CapabilityKind.ENTITY] == 0.3
    index = CapabilityIndex(config)
    index.put(agent("a_agent", domains=("alpha",), keywords=("beta",)))
    assert scores(index, "alpha beta", last_agent="a_agent") == {"a_agent": 0.85}
    path.write_text("weights: {colour: 1}\n")
    with pytest.raises(RoutingConfigError, match="colour"):
        load_routing_config(path, RoutingConfig())
    path.write_text("min_scor: 0.5\n")
    with pytest.raises(RoutingConfigError, match="unknown keys"):
        load_routing_config(path, RoutingConfig())


@pytest.mark.parametrize(
    ("query", "agents"),
    [
        ("show my tickets and courses", ["tickets_agent", "oxygen_agent"]),
        ("show my courses and tickets", ["oxygen_agent", "tickets_agent"]),
        ("tickets, courses and cloud costs", ["tickets_agent", "oxygen_agent", "finops_agent"]),
        ("show my courses and the ticket details", ["oxygen_agent", "tickets_agent"]),
        ("show my ticket for vpn access to the billing course module", ["tickets_agent"]),
        ("what is the budget for my python course", ["finops_agent"]),
    ],
)
async def test_offline_selector_lists_versus_incidental_mentions(
    demo_router: Router, query: str, agents: list[str]
) -> None:
    decision = await demo_router.decide(query)
    assert list(decision.selected_agents) == agents, decision


async def test_a_vague_query_abstains_and_lists_the_closest_agents(demo_router: Router) -> None:
    decision = await demo_router.decide("billing details")
    assert decision.abstained and decision.selected_agents == ()
    assert decision.stage2_reason.startswith("no agent matched the query")
    assert decision.candidates[0].agent_name == "tickets_agent", "an operation term is the best evidence"
    assert "closest: tickets_agent" in decision.stage2_reason
