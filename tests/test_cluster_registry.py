"""Two AgentRegistry instances on one PostgreSQL database, without servers: what each one installs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from registry_server.agents.agent_host import AgentHost
from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import RevisionCompactedError
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.changes import ChangeFeed, RequestKey
from registry_server.registry.postgres_store import PostgresRegistryStore
from tests.conftest import AGENT_MODULES

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")
DEADLINE_S = 20.0

RegistryPair = tuple[AgentRegistry, AgentRegistry]


@pytest.fixture
async def two_registries(postgres_url: str) -> AsyncIterator[RegistryPair]:
    first = AgentRegistry(await PostgresRegistryStore.open(postgres_url), builder=in_process())
    second = AgentRegistry(await PostgresRegistryStore.open(postgres_url), builder=in_process())
    await first.load()
    await second.load()
    yield first, second
    await first.close()
    await second.close()


def in_process() -> AgentHost:
    """Builds the test agents in this process: these tests are about the store, not the fence."""
    return AgentHost(AGENT_MODULES, 0, 1 << 18)


async def wait_for_revision(registry: AgentRegistry, revision: int) -> None:
    """Polls until the registry has installed every change up to `revision`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while registry.revision < revision:
        assert loop.time() < end, f"revision {revision} never reached the other instance"
        await asyncio.sleep(0.01)


async def test_a_batch_retried_on_another_instance_answers_with_the_whole_batch(
    two_registries: RegistryPair,
) -> None:
    first, second = two_registries
    specs = [AgentSpec(f"batch_{i}_agent", ECHO) for i in range(3)]
    request = RequestKey("batch-once", "fingerprint-of-the-batch")
    registered = await first.register_many(specs, request=request)
    await wait_for_revision(second, registered[-1].revision)
    retried = await second.register_many(specs, request=request)
    assert [(agent.name, agent.etag) for agent in retried] == [
        (agent.name, agent.etag) for agent in registered
    ]
    assert second.revision == registered[-1].revision  # nothing was applied twice


async def test_an_instance_that_fell_behind_the_compacted_log_loads_everything_again(
    postgres_url: str,
) -> None:
    first = AgentRegistry(
        await PostgresRegistryStore.open(postgres_url, keep_changes=2), builder=in_process()
    )
    partitioned = await PostgresRegistryStore.open(postgres_url, keep_changes=2)
    second = AgentRegistry(partitioned, builder=in_process())
    await first.load()
    await second.load()
    try:
        await first.register(AgentSpec("doomed_agent", ECHO))
        await wait_for_revision(second, first.revision)
        watch = second.watch(second.revision)
        await partitioned._notifications.stop()  # hears nothing, as during a long partition
        await first.delete("doomed_agent")
        for i in range(12):
            await first.register(AgentSpec(f"later_{i}_agent", ECHO))
        partitioned._notifications.start()  # reconnects: what it missed is compacted away
        await wait_for_revision(second, first.revision)
        assert sorted(agent.name for agent in second.agents()) == sorted(
            agent.name for agent in first.agents()
        )
        assert all(agent.routable for agent in second.agents())
        with pytest.raises(RevisionCompactedError):  # a watcher lists again, as etcd's would
            await anext(watch)
        await first.register(AgentSpec("after_agent", ECHO))
        await wait_for_revision(second, first.revision)  # and changes flow again
        assert second.find("after_agent") is not None
    finally:
        await first.close()
        await second.close()


async def test_a_reload_older_than_what_is_installed_changes_nothing() -> None:
    feed = ChangeFeed()
    feed.start(5, [])
    installs: list[str] = []
    feed.jump(3, lambda: installs.append("stale reload"))
    assert (feed.revision, installs) == (5, [])
    feed.jump(8, lambda: installs.append("reload"))
    assert (feed.revision, installs) == (8, ["reload"])
