"""RouterService end to end: the original design's scenarios, parallel streaming, failures, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_registry_client import (
    Agent,
    AgentChunk,
    AgentResult,
    Capabilities,
    Completed,
    Factory,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RegistryClient,
    RouterClient,
    RoutingDecision,
    SessionClient,
    SessionStatus,
    Stage2,
    TurnEvent,
)
from registry_server.server import RegistryServer
from tests.conftest import DEMO_AGENTS, StartServer
from tests.markers import wait_for_path
from tests.test_registry_rpcs import security_agent


@pytest.fixture
async def router(server: RegistryServer) -> AsyncIterator[RouterClient]:
    async with RouterClient(f"127.0.0.1:{server.port}") as client:
        yield client


async def turn(router: RouterClient, query: str, **kwargs: str) -> list[TurnEvent]:
    return [event async for event in router.route_and_invoke(query, **kwargs)]


def split(events: list[TurnEvent]) -> tuple[RoutingDecision, list[AgentResult], Completed]:
    decision, *middle, completed = events
    assert isinstance(decision, RoutingDecision) and isinstance(completed, Completed)
    results = [event for event in middle if isinstance(event, AgentResult)]
    assert all(isinstance(event, AgentResult | AgentChunk) for event in middle)
    return decision, results, completed


async def test_show_my_tickets_goes_to_tickets_alone(router: RouterClient, sessions: SessionClient) -> None:
    decision, results, completed = split(await turn(router, "show my tickets", user_id="alice"))
    assert [(c.agent_name, c.capability_score) for c in decision.candidates] == [("tickets_agent", 0.7)]
    assert decision.selected_agents == ("tickets_agent",) and decision.stage2 is Stage2.SKIPPED
    [result] = results
    assert result.success and "VPN Access (#12301) - In Progress" in result.response
    assert completed.combined_response == result.response
    assert decision.session_id == completed.session_id

    session = await sessions.get_session(completed.session_id)
    assert session.user_id == "alice" and session.last_agent_called == "tickets_agent"
    assert [(e.role.name, e.content[:15]) for e in session.history] == [
        ("USER", "show my tickets"),
        ("ASSISTANT", "You have 3 tick"),
    ]
    assert session.history[1].agent_name == "tickets_agent"
    assert [(i.agent_name, i.success) for i in session.invocations] == [("tickets_agent", True)]


async def test_tickets_and_courses_stream_both_and_combine_under_headings(
    router: RouterClient, sessions: SessionClient
) -> None:
    decision, results, completed = split(await turn(router, "show my tickets and courses", user_id="alice"))
    assert decision.selected_agents == ("tickets_agent", "oxygen_agent")
    assert decision.stage2 == "FALLBACK" and "no Gemini API key" in decision.stage2_reason
    assert {r.agent_name for r in results} == {"tickets_agent", "oxygen_agent"} and all(
        r.success for r in results
    )
    combined = completed.combined_response
    assert combined.startswith("**Tickets:**\nYou have 3 tickets:")
    assert "\n\n**Courses:**\nYou have 2 enrolled courses:\n1. Python Advanced - 60% complete" in combined
    assert combined.index("**Tickets:**") < combined.index("**Courses:**")
    session = await sessions.get_session(completed.session_id)
    assert {i.agent_name for i in session.invocations} == {"tickets_agent", "oxygen_agent"}
    assert session.last_agent_called == "tickets_agent", "the first selected agent carries the context"
    assert session.history[-1].content == combined


async def test_follow_up_goes_to_the_last_agent_and_explicit_subjects_win(router: RouterClient) -> None:
    *_, first = await turn(router, "show my tickets", user_id="alice")
    assert isinstance(first, Completed)
    decision, [result], _ = split(await turn(router, "show me the details", session_id=first.session_id))
    assert decision.selected_agents == ("tickets_agent",)
    assert any("last agent of the session" in reason for reason in decision.candidates[0].reasons)
    assert "Ticket #12301 (VPN Access)" in result.response and "Assignee" in result.response

    decision, [result], _ = split(await turn(router, "now show my courses", session_id=first.session_id))
    assert decision.selected_agents == ("oxygen_agent",)
    assert [c.agent_name for c in decision.candidates] == ["oxygen_agent"], (
        "no boost against an explicit subject"
    )


async def test_registered_agent_survives_restart_and_is_routed_to(start: StartServer) -> None:
    first = await start()
    async with RegistryClient(f"127.0.0.1:{first.port}") as registry:
        await registry.register_agent(security_agent())
    await first.stop(0)
    second = await start()
    async with RouterClient(f"127.0.0.1:{second.port}") as router:
        decision, [result], _ = split(await turn(router, "show security vulnerabilities", user_id="bob"))
    assert decision.selected_agents == ("security_agent",)
    assert result.response == "sec: show security vulnerabilities sec: show security vulnerabilities"


async def test_no_candidate_is_a_helpful_answer(router: RouterClient) -> None:
    decision, results, completed = split(await turn(router, "what is the weather in Lisbon", user_id="alice"))
    assert decision.abstained and decision.selected_agents == () and results == []
    assert decision.stage2_reason.startswith("no agent matched the query")
    assert {c.agent_name for c in decision.candidates} <= DEMO_AGENTS
    assert all(c.capability_score == 0 for c in decision.candidates), "the closest agents, none named"
    assert "could not find an agent" in completed.combined_response
    assert "tickets" in completed.combined_response and "courses" in completed.combined_response


async def register_pair(server: RegistryServer, first: Factory, second: Factory) -> None:
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry:
        await registry.batch_register_agents(
            [
                Agent("alpha_agent", first, capabilities=Capabilities(domains=("alpha",))),
                Agent("beta_agent", second, capabilities=Capabilities(domains=("beta",))),
            ]
        )


async def test_agents_run_in_parallel(start: StartServer) -> None:
    server = await start(agent_workers=1)  # the two agents meet through events of one worker process
    key = uuid.uuid4().hex
    await register_pair(
        server,
        Factory("tests.fake_agents", "create_rendezvous_agent", {"me": f"{key}a", "partner": f"{key}b"}),
        Factory("tests.fake_agents", "create_rendezvous_agent", {"me": f"{key}b", "partner": f"{key}a"}),
    )
    async with RouterClient(f"127.0.0.1:{server.port}") as router:
        decision, results, _ = split(await turn(router, "alpha and beta", user_id="alice"))
    assert decision.selected_agents == ("alpha_agent", "beta_agent")
    assert all(r.success for r in results), [r.error for r in results]


async def test_failing_and_hanging_agents_are_their_own_results(start: StartServer, tmp_path: Path) -> None:
    server = await start(agent_timeout_s=0.3)
    marker = tmp_path / "stuck"
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry:
        await registry.batch_register_agents(
            [
                Agent(
                    "broken_agent",
                    Factory("tests.fake_agents", "create_failing_agent"),
                    capabilities=Capabilities(domains=("alpha",)),
                ),
                Agent(
                    "stuck_agent",
                    Factory("tests.fake_agents", "create_hanging_agent", {"marker": str(marker)}),
                    capabilities=Capabilities(domains=("beta",)),
                ),
                Agent(
                    "good_agent",
                    Factory("tests.fake_agents", "create_echo_agent"),
                    capabilities=Capabilities(domains=("gamma",)),
                ),
            ]
        )
    async with (
        RouterClient(f"127.0.0.1:{server.port}") as router,
        SessionClient(f"127.0.0.1:{server.port}") as sessions,
    ):
        decision, results, completed = split(await turn(router, "alpha, beta and gamma", user_id="alice"))
        assert decision.selected_agents == ("broken_agent", "stuck_agent", "good_agent")
        by_name = {r.agent_name: r for r in results}
        assert (
            by_name["good_agent"].success and by_name["good_agent"].response == "echo: alpha, beta and gamma"
        )
        assert not by_name["broken_agent"].success
        assert by_name["broken_agent"].error == "ConnectionError: the tickets backend refused the connection"
        assert not by_name["stuck_agent"].success and by_name["stuck_agent"].error == "timed out after 0.3 s"
        assert results[-1].agent_name == "stuck_agent", "the hanging agent does not hold back the others"
        await wait_for_path(marker.with_suffix(".cancelled"))  # a timed-out agent is cancelled
        assert "**Alpha:**\n(unavailable: ConnectionError" in completed.combined_response
        session = await sessions.get_session(completed.session_id)
        assert {(i.agent_name, i.success) for i in session.invocations} == {
            ("broken_agent", False),
            ("stuck_agent", False),
            ("good_agent", True),
        }
        assert session.last_agent_called == "good_agent", "the first selected agent that answered"


async def test_cancelling_the_call_cancels_the_agents(
    server: RegistryServer, router: RouterClient, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    await register_pair(
        server,
        Factory("tests.fake_agents", "create_hanging_agent", {"marker": str(first)}),
        Factory("tests.fake_agents", "create_hanging_agent", {"marker": str(second)}),
    )
    events = router.route_and_invoke("alpha and beta", user_id="alice")
    decision = await anext(events)
    assert isinstance(decision, RoutingDecision) and len(decision.selected_agents) == 2
    reading = asyncio.ensure_future(anext(events))
    await wait_for_path(first.with_suffix(".started"))
    await wait_for_path(second.with_suffix(".started"))
    reading.cancel()  # Jarvis gives up: the pending read is cancelled, which cancels the call
    with contextlib.suppress(asyncio.CancelledError):
        await reading
    await events.aclose()
    await wait_for_path(first.with_suffix(".cancelled"))
    await wait_for_path(second.with_suffix(".cancelled"))


async def test_route_decides_without_running_or_writing(
    router: RouterClient, sessions: SessionClient
) -> None:
    session = await sessions.create_session("alice")
    decision = await router.route("show my tickets and courses", session_id=session.session_id)
    assert decision.selected_agents == ("tickets_agent", "oxygen_agent")
    assert decision.session_id == session.session_id
    stored = await sessions.get_session(session.session_id)
    assert stored.history_count == 0 and stored.invocation_count == 0


async def test_search_agents_shows_scores_and_reasons(client: RegistryClient) -> None:
    candidates = await client.search_agents("Show my TICKETS")
    tickets = candidates[0]
    assert (tickets.agent_name, tickets.capability_score) == ("tickets_agent", 0.7)
    assert tickets.score > max(c.score for c in candidates[1:]), "ranked by the fused relevance"
    assert tickets.reasons[:3] == (
        "domain 'tickets' (+0.4)",
        "entity 'ticket' (+0.3)",
        "capability score 0.70 x 0.1 = +0.070",
    )
    assert tickets.reasons[3].startswith("lexical BM25 ") and "'ticket'" in tickets.reasons[3]
    assert tickets.reasons[4].startswith("semantic similarity ")
    assert tickets.lexical_score > 0 and tickets.semantic_score > 0
    boosted = await client.search_agents("the details please", last_agent="tickets_agent")
    assert boosted[0].agent_name == "tickets_agent" and boosted[0].capability_score == 0.5
    assert "last agent of the session (+0.3)" in boosted[0].reasons
    assert "context: the session's last agent (+0.3)" in boosted[0].reasons
    with pytest.raises(InvalidArgument):
        await client.search_agents("   ")


async def test_index_follows_register_update_disable_delete_with_1000_agents(
    client: RegistryClient, router: RouterClient
) -> None:
    await client.batch_register_agents(
        [
            Agent(
                f"bulk_{n:04d}",
                Factory("tests.fake_agents", "create_echo_agent"),
                capabilities=Capabilities(domains=(f"topic{n}",), keywords=("bulk",)),
            )
            for n in range(1000)
        ]
    )
    assert (await router.route("show topic737")).selected_agents == ("bulk_0737",)
    bulk = await router.route("bulk")
    assert len(bulk.candidates) == 10, "top 10 of the 1,000 keyword matches"

    await client.register_agent(
        Agent(
            "late_agent",
            Factory("tests.fake_agents", "create_echo_agent"),
            capabilities=Capabilities(domains=("latecomer",)),
        )
    )
    assert (await router.route("latecomer")).selected_agents == ("late_agent",)
    await client.update_agent("bulk_0737", capabilities=Capabilities(domains=("renamed",)))
    assert "bulk_0737" not in (await router.route("topic737")).selected_agents
    assert (await router.route("renamed")).selected_agents == ("bulk_0737",)
    await client.set_agent_enabled("bulk_0737", False)
    assert (await router.route("renamed")).selected_agents == ()
    await client.set_agent_enabled("bulk_0737", True)
    assert (await router.route("renamed")).selected_agents == ("bulk_0737",)
    await client.delete_agent("bulk_0737")
    assert (await router.route("renamed")).selected_agents == ()


async def test_agents_receive_the_session_context(server: RegistryServer, router: RouterClient) -> None:
    async with RegistryClient(f"127.0.0.1:{server.port}") as registry:
        await registry.register_agent(
            Agent(
                "memory_agent",
                Factory("tests.fake_agents", "create_context_echo_agent"),
                capabilities=Capabilities(domains=("memory",)),
            )
        )
    *_, first = await turn(router, "memory one", user_id="alice")
    assert isinstance(first, Completed)
    _, [result], _ = split(await turn(router, "memory two", session_id=first.session_id))
    assert result.response == "previous='memory one' last='memory_agent'"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 4097}, "query"),
        ({"query": "show my tickets"}, "user_id"),
        ({"query": "show my tickets", "session_id": "bad id!"}, "session_id"),
        ({"query": "show my tickets", "user_id": "bad\tuser"}, "user_id"),
    ],
)
async def test_bad_turns_are_invalid(router: RouterClient, kwargs: dict[str, str], field: str) -> None:
    query = kwargs.pop("query")
    with pytest.raises(InvalidArgument) as raised:
        await turn(router, query, **kwargs)
    assert field in {v.field for v in raised.value.field_violations}


async def test_unknown_foreign_or_closed_sessions_are_refused(
    router: RouterClient, sessions: SessionClient
) -> None:
    with pytest.raises(NotFound):
        await turn(router, "show my tickets", session_id="nosuchsession")
    alices = await sessions.create_session("alice")
    with pytest.raises(NotFound):
        await turn(router, "show my tickets", session_id=alices.session_id, user_id="mallory")
    with pytest.raises(NotFound):
        await router.route("show my tickets", session_id=alices.session_id, user_id="mallory")
    await sessions.update_session_status(alices.session_id, SessionStatus.COMPLETED)
    with pytest.raises(FailedPrecondition, match="start a new session"):
        await turn(router, "show my tickets", session_id=alices.session_id)


async def test_jarvis_cli_prints_each_answer_and_the_session(server: RegistryServer) -> None:
    async def jarvis(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agent_registry_client.jarvis",
            *args,
            "--target",
            f"127.0.0.1:{server.port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    first = await jarvis("show my tickets and courses", "--user", "alice")
    assert "-> tickets_agent, oxygen_agent (stage 2 fallback:" in first
    assert (
        "[tickets_agent]\n" in first
        and "[oxygen_agent]\n" in first
        and "[tickets_agent done, " in first
        and "Python Advanced - 60% complete" in first
    )
    session_id = first.rsplit("--session ", 1)[1].split(")")[0]
    follow_up = await jarvis("show me the details", "--session", session_id)
    assert "-> tickets_agent (stage 2 skipped" in follow_up and "Assignee" in follow_up
    nothing = await jarvis("what is the weather")
    assert "could not find an agent" in nothing
