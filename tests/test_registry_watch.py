"""WatchAgents, registry revisions, request ids and the client's AgentCache, end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_registry_client import (
    AgentCache,
    AgentChange,
    ChangeType,
    InvalidArgument,
    RegistryClient,
    RevisionCompacted,
    Unavailable,
)
from tests.conftest import DEMO_AGENTS, StartServer
from tests.test_readme import run_example
from tests.test_registry_rpcs import security_agent

WAIT_S = 30  # a guard against a hang, never a synchronisation


async def take(changes: AsyncIterator[AgentChange], count: int) -> list[AgentChange]:
    """The next `count` changes of a watch."""
    taken: list[AgentChange] = []
    async with asyncio.timeout(WAIT_S):
        async for change in changes:
            taken.append(change)
            if len(taken) == count:
                break
    return taken


def summary(changes: list[AgentChange]) -> list[tuple[int, str, str]]:
    return [(change.revision, change.type.value, change.name) for change in changes]


async def test_list_then_watch_sees_every_change_in_revision_order(start: StartServer) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        listing = await client.list_agents()
        watch = client.watch(since_revision=listing.revision)
        registered = await client.register_agent(security_agent())
        updated = await client.update_agent("security_agent", priority=7)
        await client.delete_agent("finops_agent")
        changes = await take(watch, 3)
        await watch.aclose()
    base = listing.revision
    assert summary(changes) == [
        (base + 1, "PUT", "security_agent"),
        (base + 2, "PUT", "security_agent"),
        (base + 3, "DELETE", "finops_agent"),
    ]
    assert (registered.revision, updated.revision) == (base + 1, base + 2)
    assert changes[1].agent is not None and changes[1].agent.capabilities.priority == 7
    assert changes[1].agent.etag == updated.etag and changes[2].agent is None


async def test_watch_resumes_with_no_gap_and_no_duplicate(start: StartServer) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        since = (await client.list_agents()).revision
        first = client.watch(since_revision=since)
        for index in range(3):
            await client.register_agent(security_agent(f"a{index}_agent"))
        received = await take(first, 2)
        await first.aclose()  # the connection drops after two changes
        for index in range(3, 5):
            await client.register_agent(security_agent(f"a{index}_agent"))
        resumed = await take(client.watch(since_revision=received[-1].revision), 3)
    names = [change.name for change in received + resumed]
    assert names == [f"a{index}_agent" for index in range(5)]
    assert [change.revision for change in received + resumed] == list(range(since + 1, since + 6))


async def test_revisions_and_history_survive_a_restart(start: StartServer) -> None:
    first = await start()
    async with RegistryClient(f"127.0.0.1:{first.port}") as client:
        await client.register_agent(security_agent())
        await client.delete_agent("oxygen_agent")
        before = (await client.list_agents()).revision
    await first.stop(0)
    second = await start()
    async with RegistryClient(f"127.0.0.1:{second.port}") as client:
        assert (await client.list_agents()).revision == before
        history = await take(client.watch(since_revision=0), before)
        registered = await client.register_agent(security_agent("after_agent"))
    assert summary(history)[-2:] == [
        (before - 1, "PUT", "security_agent"),
        (before, "DELETE", "oxygen_agent"),
    ]
    assert registered.revision == before + 1


async def test_a_revision_no_longer_kept_is_out_of_range(start: StartServer, data_dir: Path) -> None:
    agent = {"factory": {"module": "tests.fake_agents", "function": "create_echo_agent"}, "revision": 40}
    document = {"version": "1.0.0", "revision": 50, "agents": {"old_agent": agent}}
    (data_dir / "registry_config.json").write_text(json.dumps(document))
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        with pytest.raises(RevisionCompacted, match="list the agents again"):
            await take(client.watch(since_revision=10), 1)
        listing = await client.list_agents()
        assert listing.revision == 50 and listing.agents[0].revision == 40
        watch = client.watch(since_revision=listing.revision)
        await client.register_agent(security_agent())
        assert summary(await take(watch, 1)) == [(51, "PUT", "security_agent")]
        with pytest.raises(InvalidArgument):
            await take(client.watch(since_revision=-1), 1)


async def test_a_retried_request_id_is_applied_once_even_after_a_restart(start: StartServer) -> None:
    first = await start()
    target = f"127.0.0.1:{first.port}"
    async with RegistryClient(target) as client:
        original = await client.register_agent(security_agent(), request_id="reg-1")
        retried = await client.register_agent(security_agent(), request_id="reg-1")
        assert retried == original
        await client.delete_agent("finops_agent", request_id="del-1")
        await client.delete_agent("finops_agent", request_id="del-1")  # not NOT_FOUND: the first result
        revision = (await client.list_agents()).revision
        with pytest.raises(InvalidArgument) as reused:
            await client.delete_agent("tickets_agent", request_id="reg-1")
        assert reused.value.field_violations[0].field == "request_id"
    await first.stop(0)
    second = await start()
    async with RegistryClient(f"127.0.0.1:{second.port}") as client:
        assert await client.register_agent(security_agent(), request_id="reg-1") == original
        assert (await client.list_agents()).revision == revision, "nothing was written twice"
        batch = [security_agent("b1_agent"), security_agent("b2_agent")]
        created = await client.batch_register_agents(batch, request_id="batch-1")
        assert await client.batch_register_agents(batch, request_id="batch-1") == created


async def test_agent_cache_follows_changes_and_serves_while_the_registry_is_down(start: StartServer) -> None:
    first = await start()
    port = first.port
    async with (
        RegistryClient(f"127.0.0.1:{port}") as client,
        AgentCache(client, retry_delay_s=0.05, max_retry_delay_s=0.2) as cache,
    ):
        assert set(cache.agents()) == DEMO_AGENTS
        seen: list[AgentChange] = []
        cache.on_change(seen.append)
        registered = await client.register_agent(security_agent())
        async with asyncio.timeout(WAIT_S):
            await cache.wait_for_revision(registered.revision)
        assert cache.get("security_agent") == registered
        assert seen[-1].type is ChangeType.PUT

        await first.stop(0)
        assert set(cache.agents()) == DEMO_AGENTS | {"security_agent"}, "served from memory while down"

        second = await start(port=port)
        async with RegistryClient(f"127.0.0.1:{second.port}") as other:
            deleted_at = await _delete_and_revision(other, "tickets_agent")
        async with asyncio.timeout(WAIT_S):
            await cache.wait_for_revision(deleted_at)
        assert "tickets_agent" not in cache.agents() and cache.connected
        assert [agent.name for agent in cache.routable()] == sorted(
            DEMO_AGENTS - {"tickets_agent"} | {"security_agent"}
        )


async def _delete_and_revision(client: RegistryClient, name: str) -> int:
    """Deletes once the restarted server is reachable (the channel may still be backing off)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                await client.delete_agent(name, request_id="delete-after-restart")
                break
            except Unavailable:
                await asyncio.sleep(0.05)
    return (await client.list_agents()).revision


async def test_readme_cache_example_runs(start: StartServer) -> None:
    server = await start()
    revision = await run_example("from agent_registry_client import AgentCache", server, "cache.revision")
    assert revision == 0, "the defaults are the registry's starting point"


async def test_stopping_the_server_ends_watches_with_unavailable(start: StartServer) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        watch = client.watch(since_revision=0)
        await client.register_agent(security_agent())
        assert summary(await take(watch, 1)) == [(1, "PUT", "security_agent")]
        async with asyncio.timeout(WAIT_S):  # with a grace of 600 s, a watch left open would hold this
            await server.stop(600)
            with pytest.raises(Unavailable, match="shutting down"):
                await anext(watch)


@pytest.mark.parametrize("request_id", ["x" * 129, "line\nbreak", "caf\u00e9"])
async def test_a_malformed_request_id_is_invalid_and_changes_nothing(
    start: StartServer, request_id: str
) -> None:
    server = await start()
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        with pytest.raises(InvalidArgument) as refused:
            await client.register_agent(security_agent(), request_id=request_id)
        assert refused.value.field_violations[0].field == "request_id"
        assert (await client.list_agents()).revision == 0


async def test_agent_cache_lists_again_when_its_revision_is_no_longer_kept(
    start: StartServer, data_dir: Path
) -> None:
    first = await start()
    port = first.port
    async with (
        RegistryClient(f"127.0.0.1:{port}") as client,
        AgentCache(client, retry_delay_s=0.05, max_retry_delay_s=0.2) as cache,
    ):
        assert cache.revision == 0 and set(cache.agents()) == DEMO_AGENTS
        await first.stop(0)
        for path in data_dir.glob("registry*"):
            path.unlink()
        agent = {"factory": {"module": "tests.fake_agents", "function": "create_echo_agent"}, "revision": 40}
        document = {"version": "1.0.0", "revision": 50, "agents": {"old_agent": agent}}
        (data_dir / "registry_config.json").write_text(json.dumps(document))
        await start(port=port)
        async with asyncio.timeout(WAIT_S):
            await cache.wait_for_revision(50)
        assert set(cache.agents()) == {"old_agent"}
