"""AgentCache: a local copy of the registry, listed once and then kept current by WatchAgents."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Self

from agent_registry_client.errors import AgentRegistryError, RevisionCompacted
from agent_registry_client.models import Agent, AgentChange, AgentState, ChangeType
from agent_registry_client.registry import RegistryClient

log = logging.getLogger(__name__)

ChangeCallback = Callable[[AgentChange], None]


class AgentCache:
    """The registry's agents, kept in memory: list, then watch; on a lost stream, reconnect and resume.

    While the registry is unreachable the cache keeps serving the last known agents (`connected` is then
    False), so an orchestrator can go on routing from it. Use as `async with AgentCache(client) as cache:`.
    An agent's state (AVAILABLE/UNAVAILABLE) is the one it had when it was listed or last changed.
    """

    def __init__(
        self, client: RegistryClient, *, retry_delay_s: float = 0.2, max_retry_delay_s: float = 5.0
    ) -> None:
        self._client = client
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        self._agents: dict[str, Agent] = {}
        self._revision = 0
        self._callbacks: list[ChangeCallback] = []
        self._progress = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None
        self.connected = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def revision(self) -> int:
        """The registry revision the cache reflects."""
        return self._revision

    def agents(self) -> Mapping[str, Agent]:
        """Every known agent by name (a read-only view)."""
        return MappingProxyType(self._agents)

    def get(self, name: str) -> Agent | None:
        """The agent called `name`, if known."""
        return self._agents.get(name)

    def routable(self) -> list[Agent]:
        """The enabled agents not known to be UNAVAILABLE, in name order."""
        return [
            agent
            for name in sorted(self._agents)
            if (agent := self._agents[name]).enabled and agent.state is not AgentState.UNAVAILABLE
        ]

    def on_change(self, callback: ChangeCallback) -> None:
        """Calls `callback(change)` after each change is applied."""
        self._callbacks.append(callback)

    async def start(self) -> None:
        """Lists the registry (raising if it cannot), then follows its changes in the background."""
        await self._list()
        self._follower = asyncio.create_task(self._follow())

    async def close(self) -> None:
        """Stops following; the cache keeps what it holds."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        self.connected = False

    async def wait_for_revision(self, revision: int) -> None:
        """Waits until the cache reflects `revision` or later."""
        while self._revision < revision:
            progress = self._progress
            await progress.wait()

    async def _list(self) -> None:
        agents: dict[str, Agent] = {}
        token, revision = "", None
        while True:
            page = await self._client.list_agents(page_token=token, page_size=1000)
            # Watching from the first page's revision replays anything that changed while paging.
            revision = page.revision if revision is None else revision
            agents.update((agent.name, agent) for agent in page.agents)
            token = page.next_page_token
            if not token:
                break
        self._agents, self._revision = agents, revision
        self._signal()

    async def _follow(self) -> None:
        delay = self._retry_delay_s
        must_list = False
        while True:
            try:
                if must_list:
                    await self._list()
                    must_list = False
                async for change in self._client.watch(since_revision=self._revision):
                    self.connected = True
                    delay = self._retry_delay_s
                    self._apply(change)
                self.connected = False  # the server ended the stream (shutting down): reconnect
            except RevisionCompacted:
                log.warning("the registry no longer keeps revision %d; listing it again", self._revision)
                must_list = True
                continue
            except AgentRegistryError as error:
                self.connected = False
                log.warning("registry watch lost (%s); retrying in %.1f s", error.code.name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_delay_s)

    def _apply(self, change: AgentChange) -> None:
        if change.revision <= self._revision:
            return
        if change.type is ChangeType.DELETE or change.agent is None:
            self._agents.pop(change.name, None)
        else:
            self._agents[change.name] = change.agent
        self._revision = change.revision
        for callback in self._callbacks:
            callback(change)
        self._signal()

    def _signal(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()
