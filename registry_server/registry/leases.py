"""Agent leases (Consul TTL checks, etcd leases): an agent that stops renewing becomes UNAVAILABLE.

A lease is a TTL and a deadline. KeepAlive moves the deadline to now + TTL. The LeaseKeeper of each
instance holds every lease's deadline and, when one passes, marks the agent UNAVAILABLE through
`AgentRegistry.set_health`, the health model probes share; a renewal marks it AVAILABLE again. Where the
leases live decides who agrees on them: in memory (one instance) or in PostgreSQL (every instance).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from registry_server.domain.agent import AgentState, RegisteredAgent
from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import InvalidStateError, NotFoundError, ValidationError
from registry_server.registry.agent_registry import AgentRegistry

log = logging.getLogger(__name__)

MIN_TTL = timedelta(seconds=1)
MAX_TTL = timedelta(days=1)
EXPIRED_PREFIX = "lease expired"
EXPIRED_REASON = EXPIRED_PREFIX + ": no KeepAlive within its TTL of {ttl:g} s"


@dataclass(frozen=True)
class Lease:
    """An agent's lease: its TTL and the time it runs out unless renewed."""

    name: str
    ttl: timedelta
    deadline: datetime


LeaseChanged = Callable[[str], None]


class LeaseStore(Protocol):
    """Where leases are kept; renewals made through one handle reach every keeper sharing the store."""

    async def grant(self, name: str, ttl: timedelta) -> Lease:
        """Starts (or restarts) the agent's lease with this TTL, running out at now + TTL."""
        ...

    async def renew(self, name: str) -> Lease | None:
        """Moves the deadline to now + TTL; None when the agent holds no lease."""
        ...

    async def revoke(self, name: str) -> None:
        """Ends the agent's lease, if it has one."""
        ...

    async def get(self, name: str) -> Lease | None:
        """The agent's lease, or None."""
        ...

    async def all(self) -> list[Lease]:
        """Every lease."""
        ...

    def subscribe(self, changed: LeaseChanged, reconnected: Callable[[], None]) -> None:
        """Calls `changed(name)` when another handle changes a lease, `reconnected()` after missing some."""
        ...

    async def close(self) -> None:
        """Releases the store."""
        ...


class MemoryLeaseStore:
    """Leases of one instance, in memory (the embedded backend): they end with the process."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._leases: dict[str, Lease] = {}

    async def grant(self, name: str, ttl: timedelta) -> Lease:
        """Starts the lease."""
        lease = Lease(name, ttl, self._clock() + ttl)
        self._leases[name] = lease
        return lease

    async def renew(self, name: str) -> Lease | None:
        """Moves the deadline."""
        current = self._leases.get(name)
        return None if current is None else await self.grant(name, current.ttl)

    async def revoke(self, name: str) -> None:
        """Ends the lease."""
        self._leases.pop(name, None)

    async def get(self, name: str) -> Lease | None:
        """The lease, or None."""
        return self._leases.get(name)

    async def all(self) -> list[Lease]:
        """Every lease."""
        return list(self._leases.values())

    def subscribe(self, changed: LeaseChanged, reconnected: Callable[[], None]) -> None:
        """Nothing else changes these leases."""

    async def close(self) -> None:
        """Nothing to release."""


def validate_ttl(ttl: timedelta, field: str) -> None:
    """Refuses a TTL outside MIN_TTL..MAX_TTL."""
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValidationError.single(field, f"must be between 1 s and 1 day, got {ttl.total_seconds():g} s")


class LeaseKeeper:
    """Marks agents whose lease ran out UNAVAILABLE, and AVAILABLE again when they renew."""

    def __init__(self, registry: AgentRegistry, store: LeaseStore, clock: Clock = utc_now) -> None:
        self._registry = registry
        self._store = store
        self._clock = clock
        self._leases: dict[str, Lease] = {}
        self._expired: set[str] = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._listeners: list[LeaseChanged] = []

    async def start(self) -> None:
        """Reads every lease and starts watching deadlines."""
        self._registry.add_listener(self._on_agent_changed)
        self._store.subscribe(self._on_lease_changed, self._on_reconnected)
        await self._reload_all()
        self._task = asyncio.create_task(self._expire_forever(), name="lease-expiry")

    async def stop(self) -> None:
        """Stops watching and releases the store."""
        for task in (self._task, *self._pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._store.close()

    def add_listener(self, listener: LeaseChanged) -> None:
        """Calls `listener(name)` whenever an agent's lease changes."""
        self._listeners.append(listener)

    def lease_of(self, name: str) -> Lease | None:
        """The agent's lease as this instance knows it, or None."""
        return self._leases.get(name)

    async def grant(self, name: str, ttl: timedelta) -> Lease:
        """Starts a lease for a registered agent."""
        self._registry.get(name)
        return self._apply(await self._store.grant(name, ttl))

    async def keep_alive(self, name: str, ttl: timedelta | None = None) -> Lease:
        """Renews the agent's lease (starting it, or changing its TTL, when `ttl` is given)."""
        self._registry.get(name)
        if ttl is not None:
            return self._apply(await self._store.grant(name, ttl))
        lease = await self._store.renew(name)
        if lease is None:
            raise InvalidStateError(
                f"agent {name!r} holds no lease: register it with lease_ttl, or send a ttl to start one"
            )
        return self._apply(lease)

    async def revoke(self, name: str) -> None:
        """Ends the agent's lease (when the agent is deleted or registered again without one)."""
        await self._store.revoke(name)
        self._forget(name)

    def _apply(self, lease: Lease) -> Lease:
        """Takes a lease's new deadline; an agent whose lease is current again becomes AVAILABLE."""
        self._leases[lease.name] = lease
        if lease.deadline > self._clock() and lease.name in self._expired:
            self._expired.discard(lease.name)
            self._restore(lease.name)
            log.info("agent %s renewed its lease: available again", lease.name)
        self._changed.set()
        for listener in self._listeners:
            listener(lease.name)
        return lease

    def _forget(self, name: str) -> None:
        if self._leases.pop(name, None) is not None and name in self._expired:
            self._expired.discard(name)
            self._restore(name)
        self._changed.set()
        for listener in self._listeners:
            listener(name)

    def _restore(self, name: str) -> None:
        """Makes available an agent that only its lease made unavailable (not, say, a failed build)."""
        try:
            agent = self._registry.get(name)
        except NotFoundError:
            return
        if agent.state is AgentState.UNAVAILABLE and agent.state_message.startswith(EXPIRED_PREFIX):
            self._registry.set_health(name, True, "")

    async def _expire_forever(self) -> None:
        while True:
            self._expire_due()
            self._changed.clear()
            upcoming = [lease.deadline for lease in self._leases.values() if lease.name not in self._expired]
            timeout = (min(upcoming) - self._clock()).total_seconds() if upcoming else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait(), max(timeout, 0.0) if timeout is not None else None
                )

    def _expire_due(self) -> None:
        now = self._clock()
        for lease in list(self._leases.values()):
            if lease.deadline <= now and lease.name not in self._expired:
                self._expired.add(lease.name)
                reason = EXPIRED_REASON.format(ttl=lease.ttl.total_seconds())
                self._registry.set_health(lease.name, False, reason)
                log.warning("agent %s: %s", lease.name, reason)

    def _on_agent_changed(self, name: str, agent: RegisteredAgent | None) -> None:
        """A deleted agent's lease ends; a rebuilt agent whose lease ran out stays UNAVAILABLE."""
        if agent is None:
            self._leases.pop(name, None)
            self._expired.discard(name)
        elif name in self._expired and agent.state is AgentState.AVAILABLE:
            asyncio.get_running_loop().call_soon(self._reassert_expired, name)

    def _reassert_expired(self, name: str) -> None:
        lease = self._leases.get(name)
        if lease is not None and name in self._expired:
            reason = EXPIRED_REASON.format(ttl=lease.ttl.total_seconds())
            self._registry.set_health(name, False, reason)

    def _on_lease_changed(self, name: str) -> None:
        self._spawn(self._reload(name))

    def _on_reconnected(self) -> None:
        self._spawn(self._reload_all())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reload(self, name: str) -> None:
        try:
            lease = await self._store.get(name)
        except Exception:
            log.warning("could not read the lease of %s; will reload after reconnecting", name)
            return
        if lease is None:
            self._forget(name)
        else:
            self._apply(lease)

    async def _reload_all(self) -> None:
        leases = {lease.name: lease for lease in await self._store.all()}
        for name in set(self._leases) - set(leases):
            self._forget(name)
        for lease in leases.values():
            self._apply(lease)
