"""AgentRegistry holds no lock across a factory build, re-checks on conflicts, and installs in order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import EtagMismatchError, StorageUnavailableError, ValidationError
from registry_server.registry import journal
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.changes import RequestKey
from registry_server.registry.journal_store import JournalStore

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")
SLOW = FactoryRef("tests.fake_agents", "create_echo_agent", {"prefix": "slow"})
WAIT_S = 30


class GatedBuilds:
    """An agent builder whose builds of SLOW wait until released; the others return at once."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def build(self, factory: FactoryRef, *, reimport: bool = False) -> object:
        if factory == SLOW:
            self.started.set()
            await self.release.wait()
        return object()


@pytest.fixture
def builds() -> GatedBuilds:
    return GatedBuilds()


@pytest.fixture
async def registry(tmp_path: Path, builds: GatedBuilds) -> AsyncIterator[AgentRegistry]:
    loaded = AgentRegistry(JournalStore(tmp_path, None), builder=builds)
    await loaded.load()
    yield loaded
    await loaded.close()


async def test_a_slow_factory_build_blocks_no_other_change(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    slow = asyncio.create_task(registry.register(AgentSpec("slow_agent", SLOW)))
    async with asyncio.timeout(WAIT_S):
        await builds.started.wait()
        fast = await registry.register(AgentSpec("fast_agent", ECHO))
        await registry.set_enabled("fast_agent", False)
    assert not slow.done() and fast.revision == 1
    builds.release.set()
    assert (await slow).revision == 3
    assert registry.revision == 3


async def test_a_change_made_during_a_build_is_rechecked_not_lost(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    await registry.register(AgentSpec("one_agent", ECHO))
    refactored = asyncio.create_task(registry.update("one_agent", {"factory": SLOW}))
    async with asyncio.timeout(WAIT_S):
        await builds.started.wait()
    await registry.update("one_agent", {"description": "changed meanwhile"})
    builds.release.set()
    final = await refactored
    assert final.spec.factory == SLOW and final.spec.description == "changed meanwhile"


async def test_a_stale_etag_found_after_a_build_is_aborted(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    agent = await registry.register(AgentSpec("one_agent", ECHO))
    refactored = asyncio.create_task(registry.update("one_agent", {"factory": SLOW}, etag=agent.etag))
    async with asyncio.timeout(WAIT_S):
        await builds.started.wait()
    await registry.update("one_agent", {"description": "changed meanwhile"})
    builds.release.set()
    with pytest.raises(EtagMismatchError):
        await refactored
    assert registry.get("one_agent").spec.factory == ECHO


async def test_a_cancelled_caller_does_not_stop_a_durable_change(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    watch = registry.watch(0)
    first = asyncio.create_task(registry.register(AgentSpec("one_agent", ECHO)))
    await asyncio.sleep(0)  # let the commit start, then drop the caller
    first.cancel()
    await registry.register(AgentSpec("two_agent", ECHO))
    async with asyncio.timeout(WAIT_S):
        seen = [(await anext(watch)).name for _ in range(2)]
    await watch.aclose()
    assert seen == ["one_agent", "two_agent"] and len(registry) == 2


async def test_concurrent_retries_of_one_request_id_apply_once(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    key = RequestKey("same-id", "fingerprint")
    results = await asyncio.gather(*(registry.register(AgentSpec("one_agent", ECHO), key) for _ in range(5)))
    assert {agent.etag for agent in results} == {results[0].etag}
    assert registry.revision == 1


async def test_a_name_freed_by_a_failed_write_can_be_registered(
    registry: AgentRegistry, builds: GatedBuilds, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, fail_now = threading.Event(), threading.Event()
    healthy_write = journal.write_all

    def full_disk(descriptor: int, data: bytes) -> None:
        writing.set()
        fail_now.wait(WAIT_S)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("registry_server.registry.journal.write_all", full_disk)
    monkeypatch.setattr("registry_server.registry.agent_sync.CATCH_UP_AFTER_S", 0.05)
    conflicted = asyncio.Event()
    catch_up = registry._catch_up

    async def noted_catch_up(revision: int) -> None:
        conflicted.set()
        await catch_up(revision)

    monkeypatch.setattr(registry, "_catch_up", noted_catch_up)
    doomed = asyncio.create_task(registry.register(AgentSpec("one_agent", ECHO)))
    async with asyncio.timeout(WAIT_S):
        await asyncio.to_thread(writing.wait, WAIT_S)
        second = asyncio.create_task(registry.register(AgentSpec("one_agent", ECHO, description="second")))
        await conflicted.wait()  # the name is taken by the write in flight
    monkeypatch.setattr("registry_server.registry.journal.write_all", healthy_write)
    fail_now.set()
    with pytest.raises(StorageUnavailableError):
        await doomed
    async with asyncio.timeout(WAIT_S):
        assert (await second).spec.description == "second"
    assert registry.get("one_agent").spec.description == "second"


async def test_a_reload_retried_with_its_request_id_is_answered_once(
    registry: AgentRegistry, builds: GatedBuilds
) -> None:
    await registry.register(AgentSpec("one_agent", ECHO))
    key = RequestKey("reload-1", "reload fingerprint")
    first = await registry.reload("one_agent", key)
    assert await registry.reload("one_agent", key) is first
    with pytest.raises(ValidationError):
        await registry.reload("one_agent", RequestKey("reload-1", "another request"))
