"""AgentRegistry: the agents in memory, changed only after the change is durable on disk."""

from __future__ import annotations

import asyncio
import bisect
import functools
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from registry_server.domain.agent import AgentSpec, AgentState, RegisteredAgent
from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    FactoryError,
    NotFoundError,
    RevisionCompactedError,
    ValidationError,
)
from registry_server.domain.paging import PageRequest
from registry_server.registry.agent_listing import AgentFilter, AgentPage, page_of
from registry_server.registry.agent_protocol import AgentBuilder
from registry_server.registry.agent_updates import apply_changes, check_update_paths
from registry_server.registry.changes import ChangeFeed, RequestKey, follow_changes
from registry_server.registry.document import build_document, encode_record, etag_of
from registry_server.registry.health import HEALTHY, AgentHealth, HealthSource
from registry_server.registry.log_text import shown
from registry_server.registry.store import (
    Change,
    ChangeKind,
    ChangeRecord,
    DeleteAgent,
    DuplicateRequestError,
    LoadResult,
    Mutation,
    PutAgent,
    RegistryStore,
    StoreConflictError,
    StoredAgent,
    change_records,
)
from registry_server.registry.validation import normalise_spec, validate_name

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
REMEMBERED_RELOADS = 1000
# Past this wait for an earlier revision, a change of another instance was missed: ask the store for it.
CATCH_UP_AFTER_S = 2.0

AgentListener = Callable[[str, RegisteredAgent | None], None]


class AgentRegistry:
    """The registered agents. Reads never wait; a change is visible only once its store commit is durable.

    No lock is held across a factory build or a store write: an agent is built first, then the change is
    committed with the etag it was based on, and a conflict makes the registry re-check and try again.
    """

    def __init__(self, store: RegistryStore, clock: Clock = utc_now, *, builder: AgentBuilder) -> None:
        self._store = store
        self._builder = builder
        self._clock = clock
        self._agents: dict[str, RegisteredAgent] = {}
        self._health: dict[str, AgentHealth] = {}
        self._sorted_names: list[str] = []
        self._listeners: list[AgentListener] = []
        self._feed = ChangeFeed()
        self._external = asyncio.Lock()
        self._reloads: OrderedDict[str, tuple[str, RegisteredAgent]] = OrderedDict()

    async def load(self) -> LoadResult:
        """Loads the stored agents and builds each one; a failing factory leaves its agent UNAVAILABLE."""
        result = await self._store.load()
        # Built concurrently: with worker processes, each build is a round trip.
        for agent in await asyncio.gather(*(self._built(stored) for stored in result.agents)):
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

    def __len__(self) -> int:
        return len(self._agents)

    def add_listener(self, listener: AgentListener) -> None:
        """Calls `listener(name, agent)` after every change of an agent; `agent` is None once deleted."""
        self._listeners.append(listener)

    def agents(self) -> Iterable[RegisteredAgent]:
        """Every agent, in no particular order."""
        return self._agents.values()

    def find(self, name: str) -> RegisteredAgent | None:
        """The agent called `name`, or None."""
        return self._agents.get(name)

    def get(self, name: str) -> RegisteredAgent:
        """The agent called `name`; raises NotFoundError."""
        agent = self._agents.get(name)
        if agent is None:
            validate_name(name)
            raise NotFoundError(f"no agent is named {name!r}; ListAgents shows the registered names")
        return agent

    def list_agents(self, agent_filter: AgentFilter, page: PageRequest) -> AgentPage:
        """One page of the agents that match `agent_filter`, in name order, after `page.cursor`."""
        return page_of(self._sorted_names, self._agents, agent_filter, page)

    def export_document(self) -> dict[str, Any]:
        """The registry document, as stored."""
        return build_document(agent.spec for agent in self._agents.values())

    def watch(self, since_revision: int | None) -> AsyncGenerator[ChangeRecord, None]:
        """Every change after `since_revision` (None: from now), then each new one as it is installed.

        Raises RevisionCompactedError when the store no longer keeps the changes after `since_revision`.
        """
        return follow_changes(self._store, self._feed, since_revision)

    async def register(self, spec: AgentSpec, request: RequestKey | None = None) -> RegisteredAgent:
        """Builds the agent once and stores it; raises AlreadyExistsError or FactoryError, storing nothing."""
        return (await self.register_many([spec], prefix="agent", request=request))[0]

    async def register_many(
        self, specs: list[AgentSpec], prefix: str = "agents", request: RequestKey | None = None
    ) -> list[RegisteredAgent]:
        """Registers every spec or none: one durable write for the whole batch."""
        previous = self._previous(request)
        if previous is not None:
            return self._results_of(previous)
        specs = self._checked_new(specs, prefix)
        instances = [await self._build(spec) for spec in specs]
        now = self._clock()
        built = []
        for spec, instance in zip(specs, instances, strict=True):
            stored = replace(spec, create_time=now, update_time=now)
            built.append(
                RegisteredAgent(stored, etag_of(encode_record(stored)), AgentState.AVAILABLE, "", instance)
            )
        for _ in range(MAX_ATTEMPTS):
            try:
                created = await self._commit([(agent, None) for agent in built], [], request)
            except StoreConflictError as exc:  # a name was taken meanwhile, or its write failed
                await self._catch_up(exc.revision)
                self._refuse_existing(specs)
                continue
            except DuplicateRequestError as exc:
                return await self._repeated(exc)
            for agent in created:
                log.info("registered agent %s (%s)", agent.name, agent.spec.runtime_label)
            return created
        raise _too_contended(specs[0].name)

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

    async def update(
        self, name: str, changes: Mapping[str, Any], etag: str = "", request: RequestKey | None = None
    ) -> RegisteredAgent:
        """Replaces the fields in `changes` (keys of UPDATABLE_FIELDS); a new factory is built first."""
        check_update_paths(changes)

        async def updated(current: RegisteredAgent) -> RegisteredAgent:
            spec = normalise_spec(apply_changes(current.spec, changes), prefix="agent")
            if _runtime(spec) == _runtime(current.spec):
                return replace(current, spec=spec)
            instance = await self._build(spec)
            return replace(
                current, spec=spec, instance=instance, state=AgentState.AVAILABLE, state_message=""
            )

        return await self._change(name, etag, request, updated)

    async def set_enabled(
        self, name: str, enabled: bool, etag: str = "", request: RequestKey | None = None
    ) -> RegisteredAgent:
        """Enables or disables routing to the agent."""

        async def switched(current: RegisteredAgent) -> RegisteredAgent:
            return replace(current, spec=replace(current.spec, enabled=enabled))

        return await self._change(name, etag, request, switched)

    async def delete(self, name: str, etag: str = "", request: RequestKey | None = None) -> None:
        """Removes the agent."""
        previous = self._previous(request)
        if previous is not None:
            return
        for _ in range(MAX_ATTEMPTS):
            current = self._checked_current(name, etag)
            try:
                await self._commit([], [current], request)
            except StoreConflictError as exc:
                await self._catch_up(exc.revision)
                continue
            except DuplicateRequestError as exc:
                await self._repeated(exc)
                return
            log.info("deleted agent %s", name)
            return
        raise _too_contended(name)

    async def _change(
        self,
        name: str,
        etag: str,
        request: RequestKey | None,
        changed: Callable[[RegisteredAgent], Awaitable[RegisteredAgent]],
    ) -> RegisteredAgent:
        """Applies `changed` to the current agent and commits it, re-checking whenever the agent moved."""
        previous = self._previous(request)
        if previous is not None:
            return self._results_of(previous)[0]
        for _ in range(MAX_ATTEMPTS):
            current = self._checked_current(name, etag)
            candidate = await changed(current)
            if candidate.spec == current.spec:
                return current
            spec = replace(candidate.spec, update_time=self._clock())
            agent = replace(candidate, spec=spec, etag=etag_of(encode_record(spec)))
            try:
                return (await self._commit([(agent, current.etag)], [], request))[0]
            except StoreConflictError as exc:
                await self._catch_up(exc.revision)
            except DuplicateRequestError as exc:
                return (await self._repeated(exc))[0]
        raise _too_contended(name)

    async def reload(self, name: str, request: RequestKey | None = None) -> RegisteredAgent:
        """Re-imports the factory module and rebuilds the agent; the stored definition does not change."""
        if request is not None and request.request_id in self._reloads:
            fingerprint, first = self._reloads[request.request_id]
            if fingerprint != request.fingerprint:
                raise _reused()
            return first
        for _ in range(MAX_ATTEMPTS):
            started = self.get(name)
            try:
                instance = await self._build(started.spec, reimport=True)
            except FactoryError as exc:
                if HealthSource.BUILD in self._health_of(name).failures:
                    self._judge(name, HealthSource.BUILD, False, exc.cause)
                raise
            current = self.get(name)
            if _runtime(current.spec) != _runtime(started.spec):
                continue
            self._agents[name] = replace(current, instance=instance)
            reloaded = self._judge(name, HealthSource.BUILD, True, "", force_notify=True)
            log.info("reloaded agent %s", name)
            if request is not None and request.request_id:
                self._reloads[request.request_id] = (request.fingerprint, reloaded)
                while len(self._reloads) > REMEMBERED_RELOADS:
                    self._reloads.popitem(last=False)
            return reloaded
        raise _too_contended(name)

    def set_health(
        self, name: str, available: bool, reason: str, source: HealthSource = HealthSource.PROBE
    ) -> None:
        """Records `source`'s verdict on the agent; runtime state only, never stored.

        The agent is AVAILABLE only while every source (its build, its lease, its probes) finds it so:
        a verdict of one source never makes available an agent another source finds unavailable.
        """
        if name in self._agents:
            self._judge(name, source, available, reason)

    def health(self, name: str) -> AgentHealth:
        """Each source's verdict on the agent (HEALTHY for an unknown name)."""
        return self._health_of(name)

    def _health_of(self, name: str) -> AgentHealth:
        return self._health.get(name, HEALTHY)

    def _judge(
        self, name: str, source: HealthSource, available: bool, reason: str, force_notify: bool = False
    ) -> RegisteredAgent:
        """Applies one source's verdict and re-derives the agent's public state; notifies on a change."""
        current = self._agents[name]
        health = self._health_of(name).judged(source, available, reason)
        self._health[name] = health
        judged = _with_health(current, health)
        if force_notify or judged != current:
            self._agents[name] = judged
            self._notify(name)
        return judged

    def _checked_current(self, name: str, etag: str) -> RegisteredAgent:
        current = self.get(name)
        if etag and etag != current.etag:
            raise EtagMismatchError(
                f"agent {name!r} changed since it was read (etag {etag!r}, now {current.etag!r}); "
                "get it again and retry"
            )
        return current

    def _previous(self, request: RequestKey | None) -> tuple[ChangeRecord, ...] | None:
        """What an earlier commit of this request id wrote; raises if the id came with another request."""
        records = self._feed.previous_request(request)
        if (
            records is not None
            and request is not None
            and records[0].request_fingerprint != request.fingerprint
        ):
            raise _reused()
        return records

    async def _repeated(self, duplicate: DuplicateRequestError) -> list[RegisteredAgent]:
        """The first result of a request the store had already committed."""
        await self._wait_installed(duplicate.records[-1].revision)
        return self._results_of(duplicate.records)

    def _results_of(self, records: tuple[ChangeRecord, ...]) -> list[RegisteredAgent]:
        results = []
        for record in records:
            if record.agent is None:
                continue
            current = self._agents.get(record.name)
            if current is not None and current.etag == record.agent.etag:
                results.append(current)
            else:
                stored = record.agent
                results.append(
                    RegisteredAgent(stored.spec, stored.etag, AgentState.AVAILABLE, revision=stored.revision)
                )
        return results

    async def _commit(
        self,
        puts: list[tuple[RegisteredAgent, str | None]],
        deletes: list[RegisteredAgent],
        request: RequestKey | None,
    ) -> list[RegisteredAgent]:
        """Commits durably, then installs; a cancelled caller never stops the install of a durable change."""
        mutations: list[Mutation] = [PutAgent(agent.spec, agent.etag, expected) for agent, expected in puts]
        mutations += [DeleteAgent(agent.name, agent.etag) for agent in deletes]
        change = Change(
            tuple(mutations),
            request.request_id if request else "",
            request.fingerprint if request else "",
        )
        return await asyncio.shield(self._commit_and_install(change, [agent for agent, _ in puts]))

    async def _commit_and_install(
        self, change: Change, built: list[RegisteredAgent]
    ) -> list[RegisteredAgent]:
        last = await self._store.commit(change)
        first = last - len(change.mutations) + 1
        records = change_records(change, last)
        installed = [replace(agent, revision=first + i) for i, agent in enumerate(built)]
        by_name: dict[str, RegisteredAgent | None] = {agent.name: agent for agent in installed}
        by_name.update({record.name: None for record in records if record.kind is ChangeKind.DELETE})
        self._feed.offer(records, lambda: self._install(by_name))
        await self._wait_installed(last)
        return [self._installed_as(agent) for agent in installed]

    def _installed_as(self, committed: RegisteredAgent) -> RegisteredAgent:
        """The committed agent as installed (with its health), unless a later change replaced it."""
        current = self._agents.get(committed.name)
        return current if current is not None and current.etag == committed.etag else committed

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
                if current is not None and _runtime(current.spec) == _runtime(stored.spec):
                    loaded[stored.spec.name] = replace(
                        current, spec=stored.spec, etag=stored.etag, revision=stored.revision
                    )
                else:
                    loaded[stored.spec.name] = await self._built(stored)
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
                    if current is not None and _runtime(current.spec) == _runtime(record.agent.spec):
                        agent = replace(
                            current, spec=record.agent.spec, etag=record.agent.etag, revision=record.revision
                        )
                    else:
                        agent = await self._built(record.agent)
                self._feed.offer([record], functools.partial(self._install, {record.name: agent}))

    def _install(self, agents: Mapping[str, RegisteredAgent | None]) -> None:
        for name, agent in agents.items():
            existed = name in self._agents
            if agent is None:
                if existed:
                    del self._agents[name]
                    del self._sorted_names[bisect.bisect_left(self._sorted_names, name)]
                self._health.pop(name, None)
            else:
                self._admit(agent)
                if not existed:
                    bisect.insort(self._sorted_names, name)
            self._notify(name)

    def _admit(self, agent: RegisteredAgent) -> None:
        """Stores a committed agent, its public state derived from its health.

        A new agent, or one whose runtime (factory) changed, was just built: its state is the build's
        verdict, and the other sources' verdicts are kept. Otherwise it keeps the installed instance and
        health.
        """
        previous = self._agents.get(agent.name)
        health = self._health_of(agent.name) if previous is not None else HEALTHY
        if previous is None or _runtime(previous.spec) != _runtime(agent.spec):
            built = agent.state is AgentState.AVAILABLE
            health = health.judged(HealthSource.BUILD, built, agent.state_message)
        else:
            agent = replace(agent, instance=previous.instance)
        self._health[agent.name] = health
        self._agents[agent.name] = _with_health(agent, health)

    def _notify(self, name: str) -> None:
        agent = self._agents.get(name)
        for listener in self._listeners:
            listener(name, agent)

    async def _build(self, spec: AgentSpec, *, reimport: bool = False) -> object:
        """The agent's runtime: a client of its A2A endpoint, or what its factory builds (in a worker)."""
        if spec.a2a is not None:
            # Imported on first use: a2a-sdk's client costs start-up time that registries without remote
            # agents should not pay.
            from registry_server.agents.a2a.runtime import build_a2a_agent

            return await build_a2a_agent(spec.name, spec.a2a)
        if spec.factory is None:
            raise FactoryError("", "", "the agent has neither a factory nor an a2a endpoint")
        return await self._builder.build(spec.factory, reimport=reimport)

    async def _built(self, stored: StoredAgent) -> RegisteredAgent:
        spec, etag, revision = stored.spec, stored.etag, stored.revision
        try:
            instance = await self._build(spec)
        except FactoryError as exc:
            log.error("agent %s is unavailable: %s", spec.name, shown(str(exc)))
            return RegisteredAgent(spec, etag, AgentState.UNAVAILABLE, exc.cause, revision=revision)
        return RegisteredAgent(spec, etag, AgentState.AVAILABLE, "", instance, revision)


def _runtime(spec: AgentSpec) -> tuple[object, object]:
    """What building the agent depends on: a change of it means a rebuild."""
    return spec.factory, spec.a2a


def _with_health(agent: RegisteredAgent, health: AgentHealth) -> RegisteredAgent:
    """The agent with the public state and reason its health gives."""
    return replace(agent, state=health.state, state_message=health.reason)


def _reused() -> ValidationError:
    return ValidationError.single(
        "request_id", "was already used for a different request; send a new request id"
    )


def _too_contended(name: str) -> EtagMismatchError:
    return EtagMismatchError(f"agent {name!r} kept changing while this change was attempted; retry")
