"""Two server processes on one PostgreSQL database, with clients of both (cluster mode end to end)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from agent_registry_client import (
    AgentChange,
    AgentRegistryError,
    AgentState,
    ChangeType,
    Conflict,
    RegistryClient,
    RevisionCompacted,
    RouterClient,
    Unavailable,
)
from registry_server.registry.postgres_store import PostgresRegistryStore
from tests.postgres import PostgresServer, start_postgres
from tests.server_process import ServerProcess, start_server_process
from tests.test_registry_rpcs import security_agent

pytestmark = pytest.mark.slow

SECURITY_QUERY = "scan the payments service for vulnerabilities"
DEADLINE_S = 30.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Polls `check` until it holds; fails with `what` at the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not await check():
        if loop.time() > end:
            pytest.fail(f"not within {deadline_s:g} s: {what}")
        await asyncio.sleep(0.02)


class Instance:
    """One server process and clients of it."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.registry = RegistryClient(process.target)
        self.router = RouterClient(process.target)

    async def close(self) -> None:
        await self.registry.close()
        await self.router.close()
        if self.process.process.returncode is None:
            await self.process.terminate()

    async def routes_to(self, name: str, query: str = SECURITY_QUERY) -> bool:
        return name in (await self.router.route(query)).selected_agents

    async def state_of(self, name: str) -> AgentState | None:
        try:
            return (await self.registry.get_agent(name)).state
        except AgentRegistryError:
            return None


Launch = Callable[[str, str], Awaitable[Instance]]


@pytest.fixture
async def launch(tmp_path: Path) -> AsyncIterator[Launch]:
    """Starts instances on a database URL, each with its own data dir; stops them all at the end."""
    started: list[Instance] = []

    async def start(url: str, label: str) -> Instance:
        data_dir = tmp_path / f"{label}-{len(started)}"
        data_dir.mkdir()
        instance = Instance(await start_server_process(data_dir, "--database-url", url))
        started.append(instance)
        return instance

    yield start
    for instance in started:
        await instance.close()


async def test_registered_on_one_instance_is_routable_and_readable_on_the_other(
    postgres_url: str, launch: Launch
) -> None:
    first, second = await launch(postgres_url, "a"), await launch(postgres_url, "b")
    assert not await second.routes_to("security_agent")
    registered = await first.registry.register_agent(security_agent())
    await eventually(lambda: second.routes_to("security_agent"), "B routes to the agent registered on A")
    seen_by_second = await second.registry.get_agent("security_agent")
    assert seen_by_second.etag == registered.etag
    await second.registry.delete_agent("security_agent", etag=registered.etag)
    await eventually(
        lambda: _is_none(first.state_of("security_agent")), "A no longer knows the agent deleted on B"
    )
    assert not await first.routes_to("security_agent")


async def _is_none(value: Awaitable[object]) -> bool:
    return await value is None


async def first_changes(client: RegistryClient, since: int, count: int) -> list[AgentChange]:
    """The first `count` changes a watch from `since` streams."""
    changes: list[AgentChange] = []
    async with asyncio.timeout(DEADLINE_S):
        async for change in client.watch(since):
            changes.append(change)
            if len(changes) == count:
                break
    return changes


async def test_a_watch_on_one_instance_streams_the_other_instances_changes(
    postgres_url: str, launch: Launch
) -> None:
    first, second = await launch(postgres_url, "a"), await launch(postgres_url, "b")
    start = (await second.registry.list_agents()).revision
    registered = await first.registry.register_agent(security_agent())
    await first.registry.delete_agent("security_agent", etag=registered.etag)
    changes = await first_changes(second.registry, start, 2)
    assert [(c.revision, c.type, c.name) for c in changes] == [
        (start + 1, ChangeType.PUT, "security_agent"),
        (start + 2, ChangeType.DELETE, "security_agent"),
    ]
    assert changes[0].agent is not None and changes[0].agent.etag == registered.etag
    resumed = await first_changes(second.registry, start + 1, 1)  # after a reconnect: no gap, no repeat
    assert [c.revision for c in resumed] == [start + 2]
    store = await PostgresRegistryStore.open(postgres_url)
    try:
        await store.compact(keep=0)
    finally:
        await store.close()
    with pytest.raises(RevisionCompacted):
        await first_changes(second.registry, start, 1)


async def test_one_etag_on_two_instances_exactly_one_update_wins(postgres_url: str, launch: Launch) -> None:
    first, second = await launch(postgres_url, "a"), await launch(postgres_url, "b")
    agent = await first.registry.register_agent(security_agent())
    await eventually(lambda: _is_known(second, agent.etag), "B sees the agent")
    results = await asyncio.gather(
        first.registry.set_agent_enabled("security_agent", False, etag=agent.etag),
        second.registry.set_agent_enabled("security_agent", False, etag=agent.etag),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, BaseException) for result in results) == 1
    assert [type(result) for result in results if isinstance(result, BaseException)] == [Conflict]


async def _is_known(instance: Instance, etag: str) -> bool:
    try:
        return (await instance.registry.get_agent("security_agent")).etag == etag
    except AgentRegistryError:
        return False


async def test_an_expired_lease_takes_the_agent_out_of_routing_on_both_instances(
    postgres_url: str, launch: Launch
) -> None:
    first, second = await launch(postgres_url, "a"), await launch(postgres_url, "b")
    leased = replace(security_agent(), lease_ttl=timedelta(seconds=1))
    registered = await first.registry.register_agent(leased)
    assert registered.lease_ttl == timedelta(seconds=1)
    for instance in (first, second):
        await eventually(
            functools.partial(_state_is, instance, AgentState.UNAVAILABLE),
            "the agent's lease expired everywhere",
        )
        assert not await instance.routes_to("security_agent")
    expired = await second.registry.get_agent("security_agent")
    assert "lease expired" in expired.state_message
    changed = await first.registry.update_agent("security_agent", description="Audits, still unrenewed.")
    await eventually(lambda: _is_known(second, changed.etag), "B applies the change made on A")
    for instance in (first, second):  # a changed definition does not renew the lease
        assert await instance.state_of("security_agent") is AgentState.UNAVAILABLE
    await second.registry.keep_alive("security_agent", ttl=timedelta(minutes=5))
    for instance in (first, second):
        await eventually(
            functools.partial(instance.routes_to, "security_agent"), "a renewal restores routing"
        )


async def _state_is(instance: Instance, state: AgentState) -> bool:
    return await instance.state_of("security_agent") is state


class Writers:
    """Registers agents through a client in a loop, remembering each one the server acknowledged."""

    def __init__(self, instance: Instance, prefix: str) -> None:
        self.instance = instance
        self.prefix = prefix
        self.acknowledged: set[str] = set()
        self.unavailable = 0
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, count: int) -> None:
        self.tasks = [asyncio.create_task(self._write(f"{self.prefix}{i}")) for i in range(count)]

    async def _write(self, prefix: str) -> None:
        for number in range(100_000):
            name = f"{prefix}_{number}"
            try:
                await self.instance.registry.register_agent(security_agent(name))
            except Unavailable:
                self.unavailable += 1
                await asyncio.sleep(0.05)
                continue
            except AgentRegistryError:
                await asyncio.sleep(0.05)
                continue
            self.acknowledged.add(name)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _names(instance: Instance) -> set[str]:
    return {agent.name async for agent in instance.registry.iter_agents(page_size=1000)}


async def test_kill_9_during_concurrent_writes_loses_nothing_acknowledged(
    postgres_url: str, launch: Launch
) -> None:
    first, second = await launch(postgres_url, "a"), await launch(postgres_url, "b")
    on_first, on_second = Writers(first, "w_a"), Writers(second, "w_b")
    on_first.start(4)
    on_second.start(4)
    await eventually(
        lambda: _at_least(on_first, on_second, 25), "both instances acknowledged writes", deadline_s=60
    )
    await first.process.kill()
    await on_first.stop()
    acknowledged_after_kill = len(on_second.acknowledged)
    await eventually(
        lambda: _at_least(on_second, on_second, acknowledged_after_kill + 10), "B keeps writing after A died"
    )
    await on_second.stop()
    acknowledged = on_first.acknowledged | on_second.acknowledged
    await eventually(lambda: _holds(second, acknowledged), "B holds every acknowledged agent")
    restarted = await launch(postgres_url, "a-again")
    assert acknowledged <= await _names(restarted)


async def _at_least(one: Writers, other: Writers, count: int) -> bool:
    return len(one.acknowledged) >= count and len(other.acknowledged) >= count


async def _holds(instance: Instance, names: set[str]) -> bool:
    return names <= await _names(instance)


@pytest.fixture
async def own_postgres() -> AsyncIterator[PostgresServer]:
    """A PostgreSQL server of this test's own, to stop and start."""
    server = await asyncio.to_thread(start_postgres)
    yield server
    await asyncio.to_thread(server.destroy)


async def test_a_postgres_restart_under_load_is_unavailable_then_recovers_losing_nothing(
    own_postgres: PostgresServer, launch: Launch
) -> None:
    url = own_postgres.create_database("cluster")
    first, second = await launch(url, "a"), await launch(url, "b")
    on_first, on_second = Writers(first, "w_a"), Writers(second, "w_b")
    on_first.start(2)
    on_second.start(2)
    await eventually(lambda: _at_least(on_first, on_second, 10), "writes before the restart", deadline_s=60)
    await asyncio.to_thread(own_postgres.stop)
    await eventually(
        lambda: _both_unavailable(on_first, on_second), "both instances answer UNAVAILABLE during the outage"
    )
    before_restart = (len(on_first.acknowledged), len(on_second.acknowledged))
    await asyncio.to_thread(own_postgres.start)
    await eventually(
        lambda: _grew_past(on_first, on_second, before_restart), "both instances write again by themselves"
    )
    await on_first.stop()
    await on_second.stop()
    acknowledged = on_first.acknowledged | on_second.acknowledged
    for instance in (first, second):
        await eventually(
            functools.partial(_holds, instance, acknowledged), "every acknowledged agent on each"
        )


async def _both_unavailable(one: Writers, other: Writers) -> bool:
    return one.unavailable > 0 and other.unavailable > 0


async def _grew_past(one: Writers, other: Writers, counts: tuple[int, int]) -> bool:
    return len(one.acknowledged) > counts[0] + 2 and len(other.acknowledged) > counts[1] + 2
