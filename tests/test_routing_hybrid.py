"""Hybrid stage 1, abstention, clauses and the evidence rules, on an in-house registry without a network."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from registry_server.domain.agent import AgentSpec, AgentState, Capabilities, FactoryRef, RegisteredAgent
from registry_server.domain.routing import SessionContext
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.agent_table import AgentListener
from registry_server.routing.abstention import confidence
from registry_server.routing.capability_index import CapabilityIndex
from registry_server.routing.clauses import split_clauses
from registry_server.routing.config import RoutingConfig, RoutingConfigError, load_routing_config
from registry_server.routing.coverage import query_windows
from registry_server.routing.embedder import Vectors, shared_embedder
from registry_server.routing.hybrid_index import HybridIndex, Ranked
from registry_server.routing.router import Router
from registry_server.routing.text import fold_plural
from registry_server.routing.vector_cache import VectorCache
from tests.routing_agents import WORKPLACE, registered


class StaticRegistry:
    """Just enough of AgentRegistry for a Router: the agents, and the listeners it would notify."""

    def __init__(self, agents: Iterable[RegisteredAgent]) -> None:
        self._agents = {agent.name: agent for agent in agents}
        self.listeners: list[AgentListener] = []

    def agents(self) -> Iterable[RegisteredAgent]:
        return self._agents.values()

    def add_listener(self, listener: AgentListener) -> None:
        self.listeners.append(listener)

    def change(self, name: str, agent: RegisteredAgent | None) -> None:
        for listener in self.listeners:
            listener(name, agent)


def router_over(agents: Iterable[RegisteredAgent], config: RoutingConfig | None = None) -> Router:
    return Router(cast(AgentRegistry, StaticRegistry(agents)), config or RoutingConfig(), None)


@pytest.fixture(scope="module")
def workplace() -> Router:
    return router_over(registered(agent) for agent in WORKPLACE)


def agent(name: str, description: str = "", **capabilities: object) -> RegisteredAgent:
    spec = AgentSpec(name, FactoryRef("m", "f"), description, Capabilities(**capabilities))  # type: ignore[arg-type]
    return RegisteredAgent(spec, "etag", AgentState.AVAILABLE)


async def selected(router: Router, query: str, last_agent: str = "") -> set[str]:
    return set((await router.decide(query, SessionContext(last_agent=last_agent))).selected_agents)


@pytest.mark.parametrize(
    ("query", "agents"),
    [
        ("show my open incidents", {"incidents_agent"}),
        ("book a meeting room for tomorrow", {"facilities_agent"}),
        ("restart the nightly build", {"ci_agent"}),
        ("how many vacation days do I have left", {"hr_agent"}),
        (
            "show my open incidents and book a meeting room for tomorrow",
            {"incidents_agent", "facilities_agent"},
        ),
        (
            "how much did we spend on storage last month and who is on call this week",
            {"finops_agent", "oncall_agent"},
        ),
        ("restart the build and file a bug for the flaky test", {"ci_agent", "bugs_agent"}),
        ("what's my vacation balance? Also, any new courses on Kubernetes?", {"hr_agent", "learning_agent"}),
        ("Sign me up for the Kubernetes security course", {"learning_agent"}),
        ("which certifications and workshops can I take", {"learning_agent"}),
    ],
)
async def test_each_request_gets_its_agents(workplace: Router, query: str, agents: set[str]) -> None:
    assert await selected(workplace, query) == agents


async def test_a_subject_inside_another_request_stays_single(workplace: Router) -> None:
    assert len(await selected(workplace, "a ticket about the billing course")) == 1


async def test_a_second_request_without_a_clause_boundary_selects_its_agent_too() -> None:
    query = (
        "our storage spending doubled last month so I need a meeting room tomorrow to discuss the cloud bill"
    )
    agents = [registered(agent) for agent in WORKPLACE]
    assert await selected(router_over(agents), query) == {"finops_agent", "facilities_agent"}
    without_coverage = router_over(agents, replace(RoutingConfig(), coverage_min_words=1000))
    assert await selected(without_coverage, query) == {"finops_agent"}


@pytest.mark.parametrize(
    "query",
    [
        "please sign me up for the advanced Kubernetes security course with hands-on labs next month",
        "the payment incident from last night is still open, show me its timeline and current severity",
        "book a quiet meeting room with a projector for tomorrow afternoon for eight people",
        "I want to check how many vacation days I still have left this year before booking my holiday",
    ],
)
async def test_a_long_single_request_stays_with_one_agent(workplace: Router, query: str) -> None:
    assert len(await selected(workplace, query)) == 1


def test_query_windows_cover_every_content_word() -> None:
    windows = query_windows("restart nightly build file bug flaky test suite", 4, 2)
    assert windows == [
        "restart nightly build file",
        "build file bug flaky",
        "bug flaky test suite",
    ]
    assert query_windows("restart build", 4, 2) == ["restart build"]
    assert query_windows("the and of", 4, 2) == []


@pytest.mark.parametrize(
    ("query", "agent_name"),
    [
        ("how many days off do I still have", "hr_agent"),
        ("our bill from amazon web services looks high", "finops_agent"),
        ("who should I call if the database goes down tonight", "oncall_agent"),
        ("the tests keep failing randomly, please report it", "bugs_agent"),
    ],
)
async def test_paraphrases_without_the_agents_terms_are_understood(
    workplace: Router, query: str, agent_name: str
) -> None:
    decision = await workplace.decide(query)
    assert decision.selected_agents == (agent_name,)
    assert decision.candidates[0].capability_score == 0, "no typed term matched: the other signals carried it"


@pytest.mark.parametrize(
    "query", ["what's the capital of France", "tell me a joke", "translate hello into Greek"]
)
async def test_out_of_scope_queries_select_no_agent_and_show_the_closest(
    workplace: Router, query: str
) -> None:
    decision = await workplace.decide(query)
    assert decision.abstained and decision.selected_agents == ()
    assert decision.stage2_reason.startswith("no agent matched the query")
    assert 1 <= len(decision.candidates) <= 3
    assert decision.candidates[0].agent_name in decision.stage2_reason


async def test_a_follow_up_goes_to_the_previous_agent_unless_another_is_named(workplace: Router) -> None:
    assert await selected(workplace, "what about the second one?") == set()
    assert await selected(workplace, "what about the second one?", last_agent="oncall_agent") == {
        "oncall_agent"
    }
    assert await selected(workplace, "book a meeting room", last_agent="oncall_agent") == {"facilities_agent"}
    both = {"incidents_agent", "learning_agent"}
    assert await selected(workplace, "show my incidents and courses", last_agent="incidents_agent") == both


def test_reasons_say_what_each_signal_added(workplace: Router) -> None:
    [best, *_] = workplace.candidates("show my open incidents")
    assert best.agent_name == "incidents_agent"
    assert best.reasons[:3] == (
        "domain 'incidents' (+0.4)",
        "entity 'incident' (+0.3)",
        "operation 'open' (+0.2)",
    )
    assert best.reasons[3] == "capability score 0.90 x 0.1 = +0.090"
    assert best.reasons[4].startswith("lexical BM25 ") and "'incident'" in best.reasons[4]
    assert best.reasons[5].startswith("semantic similarity ")
    assert best.reasons[6].startswith("nearest examples' similarity ")
    weights = workplace.config.fusion
    expected = (
        weights["capability"] * best.capability_score
        + weights["lexical"] * best.lexical_score
        + weights["semantic"] * best.semantic_score
        + weights["examples"] * best.example_score
    )
    assert best.score == pytest.approx(expected, abs=1e-5)


def test_ties_break_on_evidence_not_names() -> None:
    index = CapabilityIndex(RoutingConfig())
    index.put(agent("aaa_agent", domains=("red",)))
    index.put(agent("zzz_agent", entities=("red",), keywords=("red car",)))
    ranked = index.score("a red car")
    assert [(c.agent_name, c.capability_score) for c in ranked] == [("zzz_agent", 0.4), ("aaa_agent", 0.4)]


def test_several_entity_matches_beat_one_incidental_domain_word() -> None:
    index = CapabilityIndex(RoutingConfig())
    index.put(agent("travel_agent", domains=("travel",)))
    index.put(agent("expenses_agent", entities=("receipt", "mileage", "per diem")))
    ranked = index.score("travel receipts, mileage and per diem for march")
    assert ranked[0].agent_name == "expenses_agent" and ranked[0].capability_score == 0.6


async def test_adjacent_subjects_are_not_a_list() -> None:
    router = router_over(
        [
            agent("cards_agent", "Payment cards: limits, blocks and replacements.", entities=("card",)),
            agent("rates_agent", "Interest rates of loans and savings.", entities=("interest rate",)),
        ]
    )
    assert len(await selected(router, "what is my card's interest rate")) == 1
    assert await selected(router, "my card and the interest rate") == {"cards_agent", "rates_agent"}


@pytest.mark.parametrize(("word", "kept"), [("news", "news"), ("does", "does"), ("series", "series")])
def test_words_that_only_look_plural_stay(word: str, kept: str) -> None:
    assert fold_plural(word) == kept


def test_clauses_split_at_joins_but_keep_lists_together() -> None:
    assert split_clauses("restart the build and file a bug for the flaky test") == [
        "restart the build",
        "file a bug for the flaky test",
    ]
    assert split_clauses("what's my vacation balance? Also, any new courses on Kubernetes?") == [
        "what's my vacation balance?",
        "any new courses on Kubernetes?",
    ]
    assert split_clauses("show my tickets and courses") == ["show my tickets and courses"]
    assert split_clauses("give me specific and detailed tips for a stressful and busy week") == [
        "give me specific and detailed tips for a stressful and busy week"
    ], "'and' between describing words joins them; a new request starts with a question word or a verb"
    assert split_clauses("show the weather and who is on call tonight") == [
        "show the weather",
        "who is on call tonight",
    ]
    assert split_clauses("Sign me up for the Kubernetes security course") == [
        "Sign me up for the Kubernetes security course"
    ]


def test_the_index_follows_changes_and_reuses_slots() -> None:
    index = HybridIndex(RoutingConfig(), shared_embedder())
    index.put(agent("a_agent", "Weather forecasts", examples=("will it rain tomorrow",)))
    index.put(agent("b_agent", "Restaurant bookings", examples=("book a table for two",)))
    assert index.score("is rain expected tomorrow")[0].agent_name == "a_agent"
    index.remove("a_agent")
    index.put(agent("c_agent", "Flight status", examples=("is my flight delayed",)))
    assert [c.agent_name for c in index.score("is rain expected tomorrow")] != ["a_agent"]
    assert index.score("is my flight to Oslo delayed")[0].agent_name == "c_agent"
    assert len(index) == 2


async def test_a_router_follows_registry_changes() -> None:
    registry = StaticRegistry([agent("a_agent", "Weather forecasts", examples=("will it rain tomorrow",))])
    router = Router(cast(AgentRegistry, registry), RoutingConfig(), None)
    registry.change("b_agent", agent("b_agent", "Flight status", examples=("is my flight delayed",)))
    assert (await router.decide("is my flight delayed")).selected_agents == ("b_agent",)
    registry.change("b_agent", None)
    assert (await router.decide("is my flight delayed")).selected_agents != ("b_agent",)


def test_fusion_and_thresholds_are_configuration(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("fusion: {semantic: 0.5, lexical: 0.5}\nabstain_threshold: 0.4\nclause_threshold: 0.5\n")
    config = load_routing_config(path, RoutingConfig())
    assert config.fusion == {
        "semantic": 0.5,
        "examples": 0.15,
        "lexical": 0.5,
        "capability": 0.1,
        "context": 0.3,
    }
    assert config.abstain_threshold == 0.4 and config.clause_threshold == 0.5
    path.write_text("fusion: {vibes: 1}\n")
    with pytest.raises(RoutingConfigError, match="vibes"):
        load_routing_config(path, RoutingConfig())
    path.write_text("fusion: {semantic: lots}\n")
    with pytest.raises(RoutingConfigError, match=r"fusion\.semantic"):
        load_routing_config(path, RoutingConfig())


def test_confidence_weights_are_configuration(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("confidence_weights: {margin: 2}\n")
    config = load_routing_config(path, RoutingConfig())
    assert config.confidence_weights["margin"] == 2.0
    assert config.confidence_weights["relevance"] == RoutingConfig().confidence_weights["relevance"]
    path.write_text("confidence_weights: {luck: 1}\n")
    with pytest.raises(RoutingConfigError, match="luck"):
        load_routing_config(path, RoutingConfig())


def ranked(name: str, score: float, semantic: float, capability: float = 0.0) -> Ranked:
    return Ranked(name, score, capability, capability, bool(capability), semantic)


def test_a_clear_leader_is_more_confident_than_a_tie() -> None:
    weights = RoutingConfig().confidence_weights
    leader = [ranked("a", 0.5, 0.6), ranked("b", 0.2, 0.3)]
    tie = [ranked("a", 0.5, 0.6), ranked("b", 0.5, 0.6)]
    vague = [ranked("a", 0.5, 0.2), ranked("b", 0.2, 0.1)]
    named = [ranked("a", 0.5, 0.6, capability=0.7), ranked("b", 0.2, 0.3)]
    assert confidence(tie, weights) < confidence(leader, weights) < confidence(named, weights)
    assert confidence(vague, weights) < confidence(leader, weights)
    assert confidence([], weights) == 0.0


async def test_a_higher_threshold_abstains_more(workplace: Router) -> None:
    strict = router_over((registered(a) for a in WORKPLACE), replace(RoutingConfig(), abstain_threshold=3.0))
    assert await selected(strict, "how many days off do I still have") == set()
    assert await selected(workplace, "how many days off do I still have") == {"hr_agent"}


class CountingEmbedder:
    """The shared embedder, counting the texts it embeds."""

    def __init__(self) -> None:
        self.texts = 0

    def embed(self, text: str) -> Vectors:
        return shared_embedder().embed(text)

    def embed_many(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return shared_embedder().embed_many(texts)

    def agent_vector(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return shared_embedder().agent_vector(texts)


async def test_vectors_are_cached_across_restarts_and_recomputed_when_stale(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "routing_vectors.npz")
    agents = [registered(agent) for agent in WORKPLACE]
    first = CountingEmbedder()
    Router(
        cast(AgentRegistry, StaticRegistry(agents)), RoutingConfig(), None, embedder=first, vector_cache=cache
    )
    assert first.texts == sum(len(a.examples) + 1 for a in WORKPLACE) and cache.path.exists()

    second = CountingEmbedder()
    router = Router(
        cast(AgentRegistry, StaticRegistry(agents)),
        RoutingConfig(),
        None,
        embedder=second,
        vector_cache=cache,
    )
    assert second.texts == 0, "every vector came from the cache"
    assert (await router.decide("restart the nightly build")).selected_agents == ("ci_agent",)

    changed = [*agents[:-1], agent("learning_agent", "Cooking recipes", examples=("how do I bake bread",))]
    third = CountingEmbedder()
    router = Router(
        cast(AgentRegistry, StaticRegistry(changed)),
        RoutingConfig(),
        None,
        embedder=third,
        vector_cache=cache,
    )
    assert third.texts == 2, "only the changed agent is embedded again"
    assert (await router.decide("how do I bake a loaf of bread")).selected_agents == ("learning_agent",)

    cache.path.write_bytes(b"not a numpy file")
    fourth = CountingEmbedder()
    Router(
        cast(AgentRegistry, StaticRegistry(agents)),
        RoutingConfig(),
        None,
        embedder=fourth,
        vector_cache=cache,
    )
    assert fourth.texts == first.texts, "a corrupt cache is ignored and rewritten"
    assert VectorCache(cache.path).load().keys() == {a.name for a in WORKPLACE}
