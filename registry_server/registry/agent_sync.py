"""The agent table kept in step with the store: loaded from it, then following the changes any instance
commits, and catching up on those it missed."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.errors import RevisionCompactedError
from registry_server.registry.agent_build import built_agent, runtime_of
from registry_server.registry.agent_protocol import AgentBuilder
from registry_server.registry.agent_table import AgentTable
from registry_server.registry.changes import ChangeFeed, follow_changes
from registry_server.registry.store import ChangeRecord, LoadResult, RegistryStore

log = logging.getLogger(__name__)

# Past this wait for an earlier revision, a change of another instance was missed: ask the store for it.
CATCH_UP_AFTER_S = 2.0


class SyncedAgentTable(AgentTable):
    """The agent table, installing each change in revision order once the store has it durably."""

    def __init__(self, store: RegistryStore, builder: AgentBuilder) -> None:
        super().__init__()
        self._store = store
        self._builder = builder
        self._feed = ChangeFeed()
        self._external = asyncio.Lock()

    async def load(self) -> LoadResult:
        """Loads the stored agents and builds each one; a failing factory leaves its agent UNAVAILABLE."""
        result = await self._store.load()
        # Built concurrently: with worker processes, each build is a round trip.
        for agent in await asyncio.gather(*(built_agent(self._builder, stored) for stored in result.agents)):
            self._admit(agent)
        self._sorted_names = sorted(self._agents)
        self._feed.start(result.revision, result.recent_changes)
        self._store.subscribe(self._apply_external, self._reload_all)
        for name in self._sorted_names:
            self._notify(name)
        return result

    def end_watches(self) -> None:
        """Ends every watch stream with UNAVAILABLE, so a stopping server need not wait for them."""
        self._feed.close()

    async def close(self) -> None:
        """Ends the watches and closes the store once queued changes are durable."""
        self._feed.close()
        await self._store.close()

    @property
    def revision(self) -> int:
        """The registry revision of the last change visible here."""
        return self._feed.revision

    def watch(self, since_revision: int | None) -> AsyncGenerator[ChangeRecord, None]:
        """Every change after `since_revision` (None: from now), then each new one as it is installed.

        Raises RevisionCompactedError when the store no longer keeps the changes after `since_revision`.
        """
        return follow_changes(self._store, self._feed, since_revision)

    async def _catch_up(self, revision: int) -> None:
        """Waits a little for changes up to `revision` to be installed, so a re-check sees them.

        The revision a conflict reports may belong to a change whose write then failed: the wait is bounded,
        and the re-check runs either way.
        """
        try:
            async with asyncio.timeout(CATCH_UP_AFTER_S):
                await self._feed.installed(revision)
        except TimeoutError:
            await self._catch_up_from_store()

    async def _wait_installed(self, revision: int) -> None:
        """Waits for the install; if another instance's change is missing, asks the store for it."""
        while True:
            try:
                async with asyncio.timeout(CATCH_UP_AFTER_S):
                    await self._feed.installed(revision)
                return
            except TimeoutError:
                await self._catch_up_from_store()

    async def _catch_up_from_store(self) -> None:
        """Installs what the store holds past this instance's revision; loads it all if compacted away."""
        try:
            records = await self._store.changes_since(self._feed.revision)
        except RevisionCompactedError:
            await self._reload_all()
            return
        await self._apply_external(records)

    async def _reload_all(self) -> None:
        """Loads every agent again, after this instance missed changes the store no longer keeps."""
        async with self._external:
            result = await self._store.load()
            loaded: dict[str, RegisteredAgent] = {}
            for stored in result.agents:
                current = self._agents.get(stored.spec.name)
                if current is not None and runtime_of(current.spec) == runtime_of(stored.spec):
                    loaded[stored.spec.name] = replace(
                        current, spec=stored.spec, etag=stored.etag, revision=stored.revision
                    )
                else:
                    loaded[stored.spec.name] = await built_agent(self._builder, stored)
            changed = {name: loaded.get(name) for name in {*self._agents, *loaded}}
            self._feed.jump(result.revision, functools.partial(self._install, changed))
            log.warning("loaded all %d agents again at revision %d", len(loaded), result.revision)

    async def _apply_external(self, records: Sequence[ChangeRecord]) -> None:
        """Builds and installs changes committed by another instance sharing the store."""
        async with self._external:
            fresh = [record for record in records if record.revision > self._feed.revision]
            for record in fresh:
                agent: RegisteredAgent | None = None
                if record.agent is not None:
                    current = self._agents.get(record.name)
                    if current is not None and runtime_of(current.spec) == runtime_of(record.agent.spec):
                        agent = replace(
                            current, spec=record.agent.spec, etag=record.agent.etag, revision=record.revision
                        )
                    else:
                        agent = await built_agent(self._builder, record.agent)
                self._feed.offer([record], functools.partial(self._install, {record.name: agent}))
