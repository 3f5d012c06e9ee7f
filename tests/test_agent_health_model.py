"""One health model: an agent is AVAILABLE only while its build, its lease and its probes all say so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, AgentState, FactoryRef
from registry_server.domain.errors import FactoryError
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.health import HealthSource
from registry_server.registry.journal_store import JournalStore
from registry_server.registry.leases import Lease, LeaseKeeper, MemoryLeaseStore

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")
OTHER_ECHO = FactoryRef("tests.fake_agents", "create_echo_agent", {"prefix": "other"})
BUILD_ERROR = "raised RuntimeError: the agent's backend is down"
NAME = "echo_agent"
DEADLINE_S = 20.0


class SwitchableBuilds:
    """An agent builder: factories in `failing` fail as a broken factory would; others build."""

    def __init__(self) -> None:
        self.failing: list[FactoryRef] = []

    async def build(self, factory: FactoryRef, *, reimport: bool = False) -> object:
        if factory in self.failing:
            raise FactoryError(factory.module, factory.function, BUILD_ERROR)
        return object()


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def builds() -> SwitchableBuilds:
    return SwitchableBuilds()


@pytest.fixture
async def registry(tmp_path: Path, builds: SwitchableBuilds) -> AsyncIterator[AgentRegistry]:
    """A registry holding NAME, whose factory worked when it was registered."""
    loaded = AgentRegistry(JournalStore(tmp_path, None), builder=builds)
    await loaded.load()
    await loaded.register(AgentSpec(NAME, ECHO))
    yield loaded
    await loaded.close()


async def restarted_with_a_broken_factory(
    registry: AgentRegistry, tmp_path: Path, builds: SwitchableBuilds
) -> AgentRegistry:
    """The registry after a restart during which NAME's factory fails to build."""
    await registry.close()
    builds.failing.append(ECHO)
    restarted = AgentRegistry(JournalStore(tmp_path, None), builder=builds)
    await restarted.load()
    return restarted


async def wait_until_lease_judged(registry: AgentRegistry, expired: bool) -> None:
    """Polls the agent's health until the lease's verdict is the one expected."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while (HealthSource.LEASE in registry.health(NAME).failures) is not expired:
        assert loop.time() < end, f"the lease of {NAME} never became expired={expired}"
        await asyncio.sleep(0.01)


async def test_a_healthy_verdict_does_not_revive_an_agent_whose_factory_failed(
    registry: AgentRegistry, tmp_path: Path, builds: SwitchableBuilds
) -> None:
    broken = await restarted_with_a_broken_factory(registry, tmp_path, builds)
    try:
        assert broken.get(NAME).state is AgentState.UNAVAILABLE
        broken.set_health(NAME, True, "")
        broken.set_health(NAME, True, "", source=HealthSource.LEASE)
        agent = broken.get(NAME)
        assert agent.state is AgentState.UNAVAILABLE
        assert agent.state_message == BUILD_ERROR
        assert not agent.routable
    finally:
        await broken.close()


async def test_a_renewed_lease_does_not_revive_an_agent_whose_factory_failed(
    registry: AgentRegistry, tmp_path: Path, builds: SwitchableBuilds
) -> None:
    broken = await restarted_with_a_broken_factory(registry, tmp_path, builds)
    granted_at, keeper_clock = MovableClock(), MovableClock()
    keeper_clock.now += timedelta(minutes=1)
    leases = MemoryLeaseStore(granted_at)
    keeper = LeaseKeeper(broken, leases, keeper_clock)
    await keeper.start()
    try:
        await keeper.grant(NAME, timedelta(seconds=1))  # already past its deadline by the keeper's clock
        await wait_until_lease_judged(broken, expired=True)
        granted_at.now = keeper_clock.now
        await keeper.keep_alive(NAME)
        await wait_until_lease_judged(broken, expired=False)
        agent = broken.get(NAME)
        assert agent.state is AgentState.UNAVAILABLE
        assert agent.state_message == BUILD_ERROR
    finally:
        await keeper.stop()
        await broken.close()


async def test_a_rebuilt_agent_keeps_an_expired_lease_and_a_failed_probe(registry: AgentRegistry) -> None:
    registry.set_health(NAME, False, "lease expired: no KeepAlive", source=HealthSource.LEASE)
    registry.set_health(NAME, False, "probe failed: connection refused")
    updated = await registry.update(NAME, {"factory": OTHER_ECHO})
    assert updated.state is AgentState.UNAVAILABLE
    assert updated.state_message == "lease expired: no KeepAlive"
    reloaded = await registry.reload(NAME)
    assert reloaded.state is AgentState.UNAVAILABLE
    registry.set_health(NAME, True, "", source=HealthSource.LEASE)
    assert registry.get(NAME).state_message == "probe failed: connection refused"
    registry.set_health(NAME, True, "")
    assert registry.get(NAME).state is AgentState.AVAILABLE
    assert registry.get(NAME).state_message == ""


async def test_a_successful_rebuild_clears_only_the_build_failure(
    registry: AgentRegistry, tmp_path: Path, builds: SwitchableBuilds
) -> None:
    broken = await restarted_with_a_broken_factory(registry, tmp_path, builds)
    try:
        broken.set_health(NAME, False, "probe failed: timeout")
        assert broken.get(NAME).state_message == BUILD_ERROR
        builds.failing.clear()
        assert (await broken.reload(NAME)).state_message == "probe failed: timeout"
        broken.set_health(NAME, True, "")
        assert broken.get(NAME).state is AgentState.AVAILABLE
    finally:
        await broken.close()


async def test_an_agent_registered_again_starts_healthy(registry: AgentRegistry) -> None:
    registry.set_health(NAME, False, "probe failed: timeout")
    await registry.delete(NAME)
    again = await registry.register(AgentSpec(NAME, ECHO))
    assert again.state is AgentState.AVAILABLE
    assert registry.get(NAME).state is AgentState.AVAILABLE


async def test_listeners_hear_each_change_of_state_once(registry: AgentRegistry) -> None:
    heard: list[AgentState | None] = []
    registry.add_listener(lambda _name, agent: heard.append(agent.state if agent else None))
    registry.set_health(NAME, False, "probe failed: timeout")
    registry.set_health(NAME, False, "probe failed: timeout")
    registry.set_health(NAME, True, "")
    assert heard == [AgentState.UNAVAILABLE, AgentState.AVAILABLE]


class SharedLeases(MemoryLeaseStore):
    """Leases another instance also changes: the test sends its notifications and counts the reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.changed: Callable[[str], None] = lambda _name: None

    def subscribe(self, changed: Callable[[str], None], reconnected: Callable[[], None]) -> None:
        self.changed = changed

    async def get(self, name: str) -> Lease | None:
        self.reads += 1
        await asyncio.sleep(0)  # a database round trip: notifications keep arriving meanwhile
        return await super().get(name)


async def test_a_burst_of_lease_notifications_costs_one_read_per_lease(registry: AgentRegistry) -> None:
    leases = SharedLeases()
    keeper = LeaseKeeper(registry, leases)
    await keeper.start()
    try:
        granted = await leases.grant(NAME, timedelta(minutes=5))
        for _ in range(10_000):  # renewals made on other instances
            leases.changed(NAME)
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE_S
        while keeper.lease_of(NAME) != granted:
            assert loop.time() < end, "the renewed lease was never read"
            await asyncio.sleep(0.01)
        assert leases.reads <= 2
    finally:
        await keeper.stop()


async def test_a_factory_error_at_start_up_is_logged_on_one_bounded_line(
    registry: AgentRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await registry.close()
    forged = "refused\nINFO registry_server: principal=ops method=DeleteAgent code=OK " + "x" * 100_000

    class FailingBuilds:
        async def build(self, factory: FactoryRef, *, reimport: bool = False) -> object:
            raise FactoryError(factory.module, factory.function, forged)

    restarted = AgentRegistry(JournalStore(tmp_path, None), builder=FailingBuilds())
    await restarted.load()
    await restarted.close()
    [line] = [record.getMessage() for record in caplog.records if "is unavailable" in record.getMessage()]
    assert "\n" not in line and "\\nINFO" in line
    assert len(line) < 1000


async def test_an_agent_installed_after_its_lease_ran_out_is_unavailable(registry: AgentRegistry) -> None:
    leases = SharedLeases()
    keeper_clock = MovableClock()
    keeper_clock.now = datetime.now(UTC) + timedelta(hours=1)
    keeper = LeaseKeeper(registry, leases, keeper_clock)
    await keeper.start()
    try:
        await leases.grant("late_agent", timedelta(seconds=1))  # granted on another instance, long ago here
        leases.changed("late_agent")
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE_S
        while keeper.lease_of("late_agent") is None:
            assert loop.time() < end, "the lease was never read"
            await asyncio.sleep(0.01)
        await registry.register(AgentSpec("late_agent", ECHO))  # installed here only now
        while HealthSource.LEASE not in registry.health("late_agent").failures:
            assert loop.time() < end, "the expired lease never made the agent unavailable"
            await asyncio.sleep(0.01)
        assert registry.get("late_agent").state is AgentState.UNAVAILABLE
    finally:
        await keeper.stop()
