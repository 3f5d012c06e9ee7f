"""EvaluateRouting end to end: labelled cases against the live registry, through a real server and client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_registry_client import (
    Agent,
    Capabilities,
    Factory,
    InvalidArgument,
    RegistryClient,
    RouterClient,
    RoutingCase,
    SessionClient,
)
from agent_registry_client.routing_eval import CaseFileError, format_report, load_cases
from registry_server.server import RegistryServer
from tests.conftest import StartServer
from tests.routing_agents import WORKPLACE

CASES = (
    RoutingCase("show my open incidents", ("incidents_agent",)),
    RoutingCase("restart the build and file a bug for the flaky test", ("ci_agent", "bugs_agent")),
    RoutingCase("what about the second one?", ("oncall_agent",), previous_agent="oncall_agent"),
    RoutingCase("what's the capital of France", ()),
    RoutingCase("tell me a joke", ()),
    RoutingCase("book a meeting room for tomorrow", ("hr_agent",)),  # labelled wrongly on purpose
)


@pytest.fixture
async def server(start: StartServer, tmp_path: Path) -> RegistryServer:
    """A server whose registry starts empty (no demo agents)."""
    return await start(defaults_file=tmp_path / "no-defaults.yaml")


@pytest.fixture
async def router(server: RegistryServer) -> AsyncIterator[RouterClient]:
    async with RouterClient(f"127.0.0.1:{server.port}") as client:
        yield client


@pytest.fixture
async def workplace(client: RegistryClient, tmp_path: Path) -> str:
    """Registers the in-house agents with factories that leave a file if ever run; returns its prefix."""
    key = str(tmp_path / "ran-")
    await client.batch_register_agents(
        [
            Agent(
                agent.name,
                Factory("tests.fake_agents", "create_hanging_agent", {"marker": f"{key}{agent.name}"}),
                description=agent.description,
                capabilities=Capabilities(
                    agent.domains, agent.operations, agent.entities, agent.keywords, 0, agent.examples
                ),
            )
            for agent in WORKPLACE
        ]
    )
    return key


async def test_the_report_measures_the_cases_without_running_or_writing(
    workplace: str, router: RouterClient, sessions: SessionClient
) -> None:
    report = await router.evaluate_routing(CASES)
    assert report.case_count == 6 and report.out_of_scope_count == 2
    assert report.miss_count == 1 and report.exact_accuracy == pytest.approx(5 / 6)
    assert report.abstention_precision == 1.0 and report.abstention_recall == 1.0
    assert report.recall_at_1 == pytest.approx((1 + 0.5 + 1 + 0) / 4), (
        "one of two at 1; hr_agent is not first"
    )
    assert report.recall_at_10 == 1.0, "eight agents: every one is among the first ten"
    [miss] = report.misses
    assert miss.case.query == "book a meeting room for tomorrow" and miss.case.expected_agents == (
        "hr_agent",
    )
    assert miss.decision.selected_agents == ("facilities_agent",)
    assert miss.decision.candidates[0].agent_name == "facilities_agent"
    assert not any(Path(f"{workplace}{agent.name}.started").exists() for agent in WORKPLACE)
    assert (await sessions.list_sessions()).sessions == []


async def test_a_capability_change_shows_in_the_next_report(
    workplace: str, client: RegistryClient, router: RouterClient
) -> None:
    case = RoutingCase("where can I park my bike", ("facilities_agent",))
    before = await router.evaluate_routing([case])
    await client.update_agent(
        "facilities_agent",
        capabilities=Capabilities(
            domains=("facilities", "rooms"),
            entities=("meeting room", "desk", "parking", "bike"),
            examples=("where can I park my bike", "is there bicycle parking at the office"),
        ),
    )
    after = await router.evaluate_routing([case])
    assert (before.exact_accuracy, after.exact_accuracy) == (0.0, 1.0)
    assert before.misses and not after.misses


async def test_max_misses_caps_the_list_but_not_the_count(workplace: str, router: RouterClient) -> None:
    wrong = [RoutingCase("show my open incidents", ("hr_agent",))] * 5
    report = await router.evaluate_routing(wrong, max_misses=2)
    assert report.miss_count == 5 and len(report.misses) == 2


@pytest.mark.parametrize(
    ("cases", "max_misses", "field"),
    [
        ([], 0, "cases"),
        ([RoutingCase("  ", ())], 0, "cases[0].query"),
        ([RoutingCase("x" * 4097, ())], 0, "cases[0].query"),
        ([RoutingCase("ok", ("Not A Name",))], 0, "cases[0].expected_agents[0]"),
        ([RoutingCase("ok", (), previous_agent="bad name")], 0, "cases[0].previous_agent"),
        ([RoutingCase("ok", ())], 5000, "max_misses"),
        ([RoutingCase("ok", ())] * 10_001, 0, "cases"),
    ],
)
async def test_bad_cases_are_invalid(
    router: RouterClient, cases: list[RoutingCase], max_misses: int, field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await router.evaluate_routing(cases, max_misses=max_misses)
    assert field in {v.field for v in raised.value.field_violations}


async def test_cases_files_load_and_reports_print_as_json(
    workplace: str, router: RouterClient, tmp_path: Path
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(
        "cases:\n"
        "  - {query: show my open incidents, expected: [incidents_agent]}\n"
        "  - {query: 'what about the second one?', expected: [oncall_agent], previous_agent: oncall_agent}\n"
        "  - {query: tell me a joke}\n"
    )
    cases = load_cases(path)
    assert cases[2] == RoutingCase("tell me a joke", ())
    printed = json.loads(format_report(await router.evaluate_routing(cases)))
    assert printed["cases"] == 3 and printed["exact_accuracy"] == 1.0 and printed["first_misses"] == []
    (tmp_path / "dev.json").write_text(json.dumps([{"q": "tell me a joke", "gold": [], "kind": "oos"}]))
    assert load_cases(tmp_path / "dev.json") == [RoutingCase("tell me a joke", ())]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "non-empty list"),
        ("- just a string\n", "bare string"),
        ("- {expected: [a_agent]}\n", "needs a non-empty 'query'"),
        ("- {query: hi, expected: a_agent}\n", "must be a list"),
        ("- {query: hi, previous_agent: [x]}\n", "'previous_agent'"),
        ("- {query: [unclosed\n", "cannot read"),
    ],
)
def test_bad_cases_files_say_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    with pytest.raises(CaseFileError, match=problem):
        load_cases(path)
