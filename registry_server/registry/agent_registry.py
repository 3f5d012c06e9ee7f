"""AgentRegistry: the agents in memory, changed only after the change is durable on disk."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from registry_server.domain.agent import AgentSpec, AgentState, RegisteredAgent
from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import AlreadyExistsError, EtagMismatchError, FactoryError, ValidationError
from registry_server.registry.agent_build import build_runtime, runtime_of
from registry_server.registry.agent_protocol import AgentBuilder
from registry_server.registry.agent_sync import SyncedAgentTable
from registry_server.registry.agent_updates import apply_changes, check_update_paths
from registry_server.registry.changes import RequestKey
from registry_server.registry.document import encode_record, etag_of
from registry_server.registry.health import HealthSource
from registry_server.registry.store import (
    Change,
    ChangeKind,
    ChangeRecord,
    DeleteAgent,
    DuplicateRequestError,
    Mutation,
    PutAgent,
    RegistryStore,
    StoreConflictError,
    change_records,
)
from registry_server.registry.validation import normalise_spec

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
REMEMBERED_RELOADS = 1000


class AgentRegistry(SyncedAgentTable):
    """The registered agents. Reads never wait; a change is visible only once its store commit is durable.

    No lock is held across a factory build or a store write: an agent is built first, then the change is
    committed with the etag it was based on, and a conflict makes the registry re-check and try again.
    """

    def __init__(self, store: RegistryStore, clock: Clock = utc_now, *, builder: AgentBuilder) -> None:
        super().__init__(store, builder)
        self._clock = clock
        self._reloads: OrderedDict[str, tuple[str, RegisteredAgent]] = OrderedDict()

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
        instances = [await build_runtime(self._builder, spec) for spec in specs]
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
            if runtime_of(spec) == runtime_of(current.spec):
                return replace(current, spec=spec)
            instance = await build_runtime(self._builder, spec)
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
                instance = await build_runtime(self._builder, started.spec, reimport=True)
            except FactoryError as exc:
                if HealthSource.BUILD in self._health_of(name).failures:
                    self._judge(name, HealthSource.BUILD, False, exc.cause)
                raise
            current = self.get(name)
            if runtime_of(current.spec) != runtime_of(started.spec):
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


def _reused() -> ValidationError:
    return ValidationError.single(
        "request_id", "was already used for a different request; send a new request id"
    )


def _too_contended(name: str) -> EtagMismatchError:
    return EtagMismatchError(f"agent {name!r} kept changing while this change was attempted; retry")
