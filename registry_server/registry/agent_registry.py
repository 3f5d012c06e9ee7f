"""AgentRegistry: the agents in memory, changed only after the change is durable on disk."""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from registry_server.domain.agent import AgentSpec, AgentState, Capabilities, RegisteredAgent
from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    FactoryError,
    NotFoundError,
    ValidationError,
)
from registry_server.domain.paging import PageRequest
from registry_server.registry.document import build_document, encode_record, etag_of, render_file
from registry_server.registry.factories import build_agent
from registry_server.registry.file_store import FileStore, LoadResult, LoadSource
from registry_server.registry.validation import CAPABILITY_LISTS, normalise_spec, validate_name

log = logging.getLogger(__name__)

# Fields UpdateAgent may replace; `capabilities.<list>` and `capabilities.priority` replace one part.
UPDATABLE_FIELDS = frozenset(
    {"description", "factory", "a2a", "tags", "enabled", "capabilities.priority"}
    | {f"capabilities.{list_name}" for list_name in CAPABILITY_LISTS}
)


@dataclass(frozen=True)
class AgentFilter:
    """ListAgents filters; None or empty means no filter on that attribute."""

    tag: str = ""
    domain: str = ""
    enabled: bool | None = None
    state: AgentState | None = None

    def matches(self, agent: RegisteredAgent) -> bool:
        """True when the agent passes every filter that is set."""
        spec = agent.spec
        if self.tag and self.tag not in spec.tags:
            return False
        if self.domain and self.domain.casefold() not in {d.casefold() for d in spec.capabilities.domains}:
            return False
        if self.enabled is not None and spec.enabled != self.enabled:
            return False
        return self.state is None or agent.state is self.state


@dataclass(frozen=True)
class AgentPage:
    """One page of a listing, the cursor of the next page (None on the last) and the total match count."""

    agents: list[RegisteredAgent]
    next_cursor: str | None
    total_size: int


AgentListener = Callable[[str, RegisteredAgent | None], None]


class AgentRegistry:
    """The registered agents. Reads are lock-free; mutations are serialised and durable before visible."""

    def __init__(self, store: FileStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._agents: dict[str, RegisteredAgent] = {}
        self._records: dict[str, str] = {}
        self._sorted_names: list[str] = []
        self._lock = asyncio.Lock()
        self._listeners: list[AgentListener] = []

    async def load(self) -> LoadResult:
        """Loads the stored agents and builds each one; a failing factory leaves its agent UNAVAILABLE."""
        result = await asyncio.to_thread(self._store.load)
        now = self._clock()
        agents: dict[str, RegisteredAgent] = {}
        records: dict[str, str] = {}
        for stored in result.specs:
            spec = replace(
                stored, create_time=stored.create_time or now, update_time=stored.update_time or now
            )
            records[spec.name] = encode_record(spec)
            agents[spec.name] = await self._built(spec, etag_of(records[spec.name]))
        if result.source is not LoadSource.PRIMARY:
            await asyncio.to_thread(self._store.save, render_file(records))
        self._install(agents, records)
        return result

    def __len__(self) -> int:
        return len(self._agents)

    def add_listener(self, listener: AgentListener) -> None:
        """Calls `listener(name, agent)` after every change of an agent; `agent` is None once deleted."""
        self._listeners.append(listener)

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every agent, in no particular order."""
        return self._agents.values()

    def get(self, name: str) -> RegisteredAgent:
        """The agent called `name`; raises NotFoundError."""
        agent = self._agents.get(name)
        if agent is None:
            validate_name(name)
            raise NotFoundError(f"no agent is named {name!r}; ListAgents shows the registered names")
        return agent

    def list_agents(self, agent_filter: AgentFilter, page: PageRequest) -> AgentPage:
        """One page of the agents that match `agent_filter`, in name order, after `page.cursor`."""
        if page.cursor is not None and not isinstance(page.cursor, str):
            raise ValidationError.single("page_token", "is not a token of ListAgents")
        names = self._sorted_names
        start = bisect.bisect_right(names, page.cursor) if page.cursor else 0
        matched: list[RegisteredAgent] = []
        total = matched_after_cursor = 0
        for index, name in enumerate(names):
            agent = self._agents[name]
            if not agent_filter.matches(agent):
                continue
            total += 1
            if index >= start:
                matched_after_cursor += 1
                if len(matched) < page.size:
                    matched.append(agent)
        has_more = matched_after_cursor > len(matched)
        return AgentPage(matched, matched[-1].name if has_more else None, total)

    def export_document(self) -> dict[str, Any]:
        """The registry document, as stored."""
        return build_document(agent.spec for agent in self._agents.values())

    async def register(self, spec: AgentSpec) -> RegisteredAgent:
        """Builds the agent once and stores it; raises AlreadyExistsError or FactoryError, storing nothing."""
        return (await self.register_many([spec], prefix="agent"))[0]

    async def register_many(self, specs: list[AgentSpec], prefix: str = "agents") -> list[RegisteredAgent]:
        """Registers every spec or none: one durable write for the whole batch."""
        specs = self._checked_new(specs, prefix)
        instances = [await _build(spec) for spec in specs]
        async with self._lock:
            self._refuse_existing(specs)
            now = self._clock()
            agents, records = dict(self._agents), dict(self._records)
            created = []
            for spec, instance in zip(specs, instances, strict=True):
                stored = replace(spec, create_time=now, update_time=now)
                records[stored.name] = encode_record(stored)
                agent = RegisteredAgent(
                    stored, etag_of(records[stored.name]), AgentState.AVAILABLE, "", instance
                )
                agents[stored.name] = agent
                created.append(agent)
            await self._commit(agents, records)
        for agent in created:
            log.info("registered agent %s (%s)", agent.name, agent.spec.runtime_label)
        return created

    def _checked_new(self, specs: list[AgentSpec], prefix: str) -> list[AgentSpec]:
        if not specs:
            raise ValidationError.single(prefix, "must hold at least one agent")
        single = len(specs) == 1 and prefix == "agent"
        checked = [
            normalise_spec(spec, prefix if single else f"{prefix}[{i}]") for i, spec in enumerate(specs)
        ]
        seen: set[str] = set()
        for index, spec in enumerate(checked):
            if spec.name in seen:
                raise ValidationError.single(
                    f"{prefix}[{index}].name", f"{spec.name!r} appears twice in the request"
                )
            seen.add(spec.name)
        self._refuse_existing(checked)
        return checked

    def _refuse_existing(self, specs: list[AgentSpec]) -> None:
        for spec in specs:
            if spec.name in self._agents:
                raise AlreadyExistsError(
                    f"an agent named {spec.name!r} is already registered; use UpdateAgent to change it "
                    "or DeleteAgent first"
                )

    async def update(self, name: str, changes: Mapping[str, Any], etag: str = "") -> RegisteredAgent:
        """Replaces the fields in `changes` (keys of UPDATABLE_FIELDS); a new factory is built first."""
        unknown = sorted(set(changes) - UPDATABLE_FIELDS)
        if not changes or unknown:
            raise ValidationError.single(
                "update_mask",
                f"unknown paths {unknown}" if unknown else "is required: name the fields to replace",
            )
        async with self._lock:
            current = self._checked_current(name, etag)
            spec = normalise_spec(_apply_changes(current.spec, changes), prefix="agent")
            agent = current
            if (spec.factory, spec.a2a) != (current.spec.factory, current.spec.a2a):
                agent = replace(agent, instance=await _build(spec), state=AgentState.AVAILABLE)
                agent = replace(agent, state_message="")
            return await self._store_changed(replace(agent, spec=spec))

    async def set_enabled(self, name: str, enabled: bool, etag: str = "") -> RegisteredAgent:
        """Enables or disables routing to the agent."""
        async with self._lock:
            current = self._checked_current(name, etag)
            if current.spec.enabled == enabled:
                return current
            return await self._store_changed(replace(current, spec=replace(current.spec, enabled=enabled)))

    async def delete(self, name: str, etag: str = "") -> None:
        """Removes the agent."""
        async with self._lock:
            self._checked_current(name, etag)
            agents, records = dict(self._agents), dict(self._records)
            del agents[name], records[name]
            await self._commit(agents, records)
        log.info("deleted agent %s", name)

    async def reload(self, name: str) -> RegisteredAgent:
        """Re-imports the factory module and rebuilds the agent; the stored definition does not change."""
        async with self._lock:
            current = self.get(name)
            try:
                instance = await _build(current.spec, reimport=True)
            except FactoryError as exc:
                if current.state is AgentState.UNAVAILABLE:
                    self._replace_runtime(replace(current, state_message=exc.cause))
                raise
            reloaded = replace(current, instance=instance, state=AgentState.AVAILABLE, state_message="")
            self._replace_runtime(reloaded)
        log.info("reloaded agent %s", name)
        return reloaded

    def set_health(self, name: str, available: bool, reason: str) -> None:
        """Marks the agent AVAILABLE or UNAVAILABLE with the reason; runtime state only, never stored."""
        current = self._agents.get(name)
        if current is None:
            return
        state = AgentState.AVAILABLE if available else AgentState.UNAVAILABLE
        if current.state is not state or current.state_message != reason:
            self._replace_runtime(replace(current, state=state, state_message=reason))

    def _checked_current(self, name: str, etag: str) -> RegisteredAgent:
        current = self.get(name)
        if etag and etag != current.etag:
            raise EtagMismatchError(
                f"agent {name!r} changed since it was read (etag {etag!r}, now {current.etag!r}); "
                "get it again and retry"
            )
        return current

    async def _store_changed(self, agent: RegisteredAgent) -> RegisteredAgent:
        spec = replace(agent.spec, update_time=self._clock())
        record = encode_record(spec)
        changed = replace(agent, spec=spec, etag=etag_of(record))
        agents, records = dict(self._agents), dict(self._records)
        agents[spec.name], records[spec.name] = changed, record
        await self._commit(agents, records)
        return changed

    async def _commit(self, agents: dict[str, RegisteredAgent], records: dict[str, str]) -> None:
        """Writes the new state durably, then makes it visible; on a write error nothing changes."""
        await asyncio.to_thread(self._store.save, render_file(records))
        self._install(agents, records)

    def _install(self, agents: dict[str, RegisteredAgent], records: dict[str, str]) -> None:
        previous = self._agents
        if agents.keys() != previous.keys():
            self._sorted_names = sorted(agents)
        self._agents, self._records = agents, records
        changed = [
            name for name in agents.keys() | previous.keys() if agents.get(name) is not previous.get(name)
        ]
        for name in changed:
            for listener in self._listeners:
                listener(name, agents.get(name))

    def _replace_runtime(self, agent: RegisteredAgent) -> None:
        """Swaps in runtime state (instance, state) that is not persisted."""
        self._install({**self._agents, agent.name: agent}, self._records)

    async def _built(self, spec: AgentSpec, etag: str) -> RegisteredAgent:
        try:
            instance = await _build(spec)
        except FactoryError as exc:
            log.error("agent %s is unavailable: %s", spec.name, exc)
            return RegisteredAgent(spec, etag, AgentState.UNAVAILABLE, exc.cause)
        return RegisteredAgent(spec, etag, AgentState.AVAILABLE, "", instance)


async def _build(spec: AgentSpec, *, reimport: bool = False) -> object:
    """The agent's runtime: a client of its A2A endpoint, or what its factory builds."""
    if spec.a2a is not None:
        # Imported on first use: a2a-sdk's client costs start-up time that registries without remote agents
        # should not pay.
        from registry_server.agents.a2a.runtime import build_a2a_agent

        return await build_a2a_agent(spec.name, spec.a2a)
    if spec.factory is None:
        raise FactoryError("", "", "the agent has neither a factory nor an a2a endpoint")
    return await build_agent(spec.factory, reimport=reimport)


def _apply_changes(spec: AgentSpec, changes: Mapping[str, Any]) -> AgentSpec:
    capability_changes = {
        path.split(".", 1)[1]: value for path, value in changes.items() if path.startswith("capabilities.")
    }
    top_level = {path: value for path, value in changes.items() if "." not in path}
    capabilities: Capabilities = replace(spec.capabilities, **capability_changes)
    return replace(spec, capabilities=capabilities, **top_level)
