"""Agent health: probes take a dead remote agent out of routing and bring it back; circuit breakers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from agent_registry_client import (
    A2AEndpoint,
    Agent,
    AgentResult,
    AgentState,
    Capabilities,
    RegistryClient,
    RouterClient,
)
from registry_server.agents.circuit_breaker import BreakerSettings, CircuitBreaker
from registry_server.agents.health import HealthMonitor, ProbeSettings
from tests.a2a_servers import ChunkAgent, a2a_server, free_socket

WEATHER = Capabilities(domains=("weather",), keywords=("rain",))
FAST_PROBES = {
    "probe_interval_s": 0.1,
    "probe_timeout_s": 1.0,
    "probe_failures": 2,
    "probe_max_backoff_s": 0.3,
}


async def wait_for_state(client: RegistryClient, name: str, state: AgentState) -> Agent:
    """Polls GetAgent until the agent is in `state` (deadline 15 s)."""
    async with asyncio.timeout(15):
        while True:
            agent = await client.get_agent(name)
            if agent.state is state:
                return agent
            await asyncio.sleep(0.05)


async def test_a_killed_agent_becomes_unavailable_and_a_restarted_one_available(start):
    server = await start(**FAST_PROBES)
    async with (
        RegistryClient(f"127.0.0.1:{server.port}") as client,
        RouterClient(f"127.0.0.1:{server.port}") as router,
    ):
        async with a2a_server(ChunkAgent(["Rain."])) as url:
            await client.register_agent(Agent("weather_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
            assert (await router.route("rain weather")).selected_agents == ("weather_agent",)
        down = await wait_for_state(client, "weather_agent", AgentState.UNAVAILABLE)
        assert down.state_message.startswith("health probes failed")
        assert "agent-card.json" in down.state_message
        assert (await router.route("rain weather")).selected_agents == ()
        assert server.agent_health.transitions["unavailable"] == 1

        port = int(url.rsplit(":", 1)[1])
        async with a2a_server(ChunkAgent(["Sun."]), port=port):
            up = await wait_for_state(client, "weather_agent", AgentState.AVAILABLE)
            assert up.state_message == ""
            events = [event async for event in router.route_and_invoke("rain weather", user_id="ann")]
            assert events[-1].combined_response == "Sun."
        assert server.agent_health.transitions["available"] == 1


async def test_an_agent_unreachable_at_start_up_is_built_once_it_answers(start, tmp_path: Path):
    with free_socket() as sock:
        port = sock.getsockname()[1]
    defaults = tmp_path / "remote_registry.yaml"
    agent = {"a2a": {"url": f"http://127.0.0.1:{port}"}, "capabilities": {"domains": ["weather"]}}
    defaults.write_text(yaml.safe_dump({"version": "1.0.0", "agents": {"weather_agent": agent}}))
    server = await start(defaults_file=defaults, **FAST_PROBES)
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        loaded = await client.get_agent("weather_agent")
        assert loaded.state is AgentState.UNAVAILABLE and "agent-card.json" in loaded.state_message
        async with a2a_server(ChunkAgent(["Rain."]), port=port):
            await wait_for_state(client, "weather_agent", AgentState.AVAILABLE)
            assert server.registry.get("weather_agent").instance is not None


async def test_a_mostly_failing_agent_is_skipped_and_the_decision_says_why(client, server):
    async with (
        a2a_server(ChunkAgent(["x"], fail=True)) as url,
        RouterClient(f"127.0.0.1:{server.port}") as router,
    ):
        await client.register_agent(Agent("weather_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        for _ in range(BreakerSettings().min_calls):
            events = [event async for event in router.route_and_invoke("rain weather", user_id="ann")]
            assert [e.success for e in events if isinstance(e, AgentResult)] == [False]
        decision = await router.route("rain weather")
        assert decision.selected_agents == ()
        (candidate,) = decision.candidates
        assert candidate.agent_name == "weather_agent"
        assert any(reason.startswith("skipped: circuit breaker open") for reason in candidate.reasons)
        assert server.agent_health.transitions["circuit_open"] == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_on_mostly_failures_and_a_trial_after_the_cool_down_decides():
    clock = FakeClock()
    breaker = CircuitBreaker("a", BreakerSettings(window=10, min_calls=4, cooldown_s=30), clock)
    changes: list[bool] = []
    breaker.on_change = lambda name, opened, reason: changes.append(opened)
    for success in (True, False, True, False):  # half failed: not "mostly"
        breaker.record(success)
    assert breaker.open_reason() is None
    breaker.record(False)  # 3 of 5 failed
    reason = breaker.open_reason()
    assert reason is not None and "3 of the last 5 invocations failed" in reason and "30 s" in reason
    clock.now += 30
    assert breaker.open_reason() is None  # cool-down over: one trial goes through
    breaker.record(False)
    assert breaker.open_reason() is not None  # the trial failed: open again
    clock.now += 30
    breaker.record(True)
    assert breaker.open_reason() is None
    assert changes == [True, False]
    for _ in range(3):
        breaker.record(False)
    assert breaker.open_reason() is None  # the window started afresh: 3 calls are not enough


async def test_a_replaced_agents_connections_are_closed(client, server):
    HealthMonitor(server.registry, ProbeSettings(), close_replaced_after_s=0)
    async with a2a_server(ChunkAgent(["ok"])) as url:
        await client.register_agent(Agent("weather_agent", a2a=A2AEndpoint(url), capabilities=WEATHER))
        first = server.registry.get("weather_agent").instance
        await client.update_agent("weather_agent", a2a=A2AEndpoint(url, {"X-Team": "forecasting"}))
        second = server.registry.get("weather_agent").instance
        await client.delete_agent("weather_agent")
        async with asyncio.timeout(10):
            while not (first.closed and second.closed):  # noqa: ASYNC110 - a state polled with a deadline
                await asyncio.sleep(0.01)
