"""Health probes of remote agents: N failures in a row make one UNAVAILABLE, an answer AVAILABLE again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from registry_server.agents.circuit_breaker import CircuitBreaker
from registry_server.domain.agent import A2AEndpoint, AgentState, RegisteredAgent
from registry_server.domain.errors import RegistryError
from registry_server.registry.agent_registry import AgentRegistry

log = logging.getLogger(__name__)

# Marks the reasons this monitor gives, so it only revives agents it took down itself.
REASON_PREFIX = "health probes failed"
# A replaced A2A client may still serve a turn that started before the change: close it only after this.
CLOSE_REPLACED_AFTER_S = 300.0
# Backoff doubles the interval at most this many times before max_backoff_s caps it anyway.
MAX_DOUBLINGS = 20

Probe = Callable[[A2AEndpoint, float], Awaitable[None]]
TransitionListener = Callable[[str, str, str], None]


@dataclass(frozen=True)
class ProbeSettings:
    """How often remote agents are probed, for how long, and how many failures make one UNAVAILABLE."""

    interval_s: float = 5.0
    timeout_s: float = 2.0
    failures_to_unavailable: int = 3
    max_backoff_s: float = 60.0


class RemoteRuntime(Protocol):
    """What the monitor needs of a remote agent's runtime (an A2AAgent): its breaker, and closing it."""

    circuit: CircuitBreaker

    async def aclose(self) -> None:
        """Closes its connections."""
        ...


def remote_runtime(instance: object) -> RemoteRuntime | None:
    """`instance` as a remote runtime, or None for other agents (checked without importing a2a-sdk)."""
    if isinstance(getattr(instance, "circuit", None), CircuitBreaker) and hasattr(instance, "aclose"):
        return cast(RemoteRuntime, instance)
    return None


async def probe_card(endpoint: A2AEndpoint, timeout_s: float) -> None:
    """Reads the agent's card: the agent answers, and still describes an agent the registry can call."""
    from registry_server.agents.a2a.card import fetch_card, http_client  # a2a-sdk, once there is an A2A agent

    async with http_client(endpoint.headers, timeout_s) as http:
        await fetch_card(http, endpoint.url, timeout_s)


@dataclass
class _Track:
    """One remote agent's probe history."""

    failures: int = 0
    next_due: float = 0.0
    last_error: str = ""


class HealthMonitor:
    """Probes every remote agent in a background task; state changes are logged and counted.

    `transitions` counts `unavailable`, `available`, `circuit_open` and `circuit_closed` events;
    `on_transition(agent, event, reason)`, when set, hears each one (for metrics).
    """

    def __init__(
        self,
        registry: AgentRegistry,
        settings: ProbeSettings,
        probe: Probe = probe_card,
        clock: Callable[[], float] = time.monotonic,
        close_replaced_after_s: float = CLOSE_REPLACED_AFTER_S,
    ) -> None:
        self.settings = settings
        self._close_replaced_after_s = close_replaced_after_s
        self.transitions: Counter[str] = Counter()
        self.on_transition: TransitionListener | None = None
        self._registry = registry
        self._probe = probe
        self._clock = clock
        self._tracks: dict[str, _Track] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runtimes: dict[str, RemoteRuntime] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._close_timers: set[asyncio.TimerHandle] = set()
        for agent in registry.agents():
            self._on_agent_changed(agent.name, agent)
        registry.add_listener(self._on_agent_changed)

    def start(self) -> None:
        """Starts probing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="agent-health-probes")

    async def stop(self) -> None:
        """Stops probing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for timer in self._close_timers:
            timer.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)

    def _on_agent_changed(self, name: str, agent: RegisteredAgent | None) -> None:
        runtime = remote_runtime(agent.instance) if agent is not None else None
        replaced = self._runtimes.pop(name, None)
        if replaced is not None and replaced is not runtime:
            self._close_later(replaced)
        if runtime is not None:
            self._runtimes[name] = runtime
            runtime.circuit.on_change = self._on_circuit_change
        if agent is None or agent.spec.a2a is None:
            self._tracks.pop(name, None)
            return
        if name not in self._tracks:
            self._tracks[name] = _Track(next_due=self._clock())
            self._wake.set()

    def _close_later(self, runtime: RemoteRuntime) -> None:
        """Closes a replaced or deleted agent's HTTP client once turns that may still use it are over."""
        loop = asyncio.get_running_loop()

        def close() -> None:
            self._close_timers.discard(timer)
            task = loop.create_task(runtime.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

        timer = loop.call_later(self._close_replaced_after_s, close)
        self._close_timers.add(timer)

    def _on_circuit_change(self, name: str, opened: bool, reason: str) -> None:
        self._count(name, "circuit_open" if opened else "circuit_closed", reason)

    async def _run(self) -> None:
        while True:
            now = self._clock()
            due = [name for name, track in self._tracks.items() if track.next_due <= now]
            if due:
                outcomes = await asyncio.gather(
                    *(self._probe_one(name) for name in due), return_exceptions=True
                )
                for name, outcome in zip(due, outcomes, strict=True):
                    if isinstance(outcome, Exception):  # a bug must not end the probes of every agent
                        log.error("health probe of agent %s failed unexpectedly", name, exc_info=outcome)
            next_due = min((track.next_due for track in self._tracks.values()), default=None)
            wait_s = self.settings.interval_s if next_due is None else max(0.0, next_due - self._clock())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(wait_s, self.settings.interval_s))

    async def _probe_one(self, name: str) -> None:
        track = self._tracks.get(name)
        agent = self._current(name)
        if track is None or agent is None or agent.spec.a2a is None:
            return
        rebuilt = False
        try:
            async with asyncio.timeout(self.settings.timeout_s + 1.0):
                await self._probe(agent.spec.a2a, self.settings.timeout_s)
            if agent.instance is None:  # never built (unreachable at start-up): build it now
                await self._registry.reload(name)
                rebuilt = True
        except Exception as error:
            self._failed(name, track, _describe(error))
        else:
            self._answered(name, track, rebuilt)

    def _failed(self, name: str, track: _Track, error: str) -> None:
        track.failures += 1
        track.last_error = error
        settings = self.settings
        over = track.failures - settings.failures_to_unavailable
        delay = settings.interval_s if over < 0 else settings.interval_s * 2 ** min(over + 1, MAX_DOUBLINGS)
        track.next_due = self._clock() + min(delay, max(settings.max_backoff_s, settings.interval_s))
        current = self._current(name)
        if over >= 0 and current is not None and current.state is AgentState.AVAILABLE:
            reason = f"{REASON_PREFIX} {track.failures} times in a row; last: {error}"
            self._registry.set_health(name, False, reason)
            self._count(name, "unavailable", reason)

    def _answered(self, name: str, track: _Track, rebuilt: bool) -> None:
        track.failures = 0
        track.last_error = ""
        track.next_due = self._clock() + self.settings.interval_s
        current = self._current(name)
        if current is None:
            return
        if current.state is AgentState.UNAVAILABLE and current.state_message.startswith(REASON_PREFIX):
            self._registry.set_health(name, True, "")
            rebuilt = True
        if rebuilt:
            self._count(name, "available", "answered its health probe")

    def _current(self, name: str) -> RegisteredAgent | None:
        try:
            return self._registry.get(name)
        except RegistryError:
            return None

    def _count(self, name: str, event: str, reason: str) -> None:
        self.transitions[event] += 1
        log.warning("agent %s is now %s: %s", name, event.replace("_", " "), reason)
        if self.on_transition is not None:
            self.on_transition(name, event, reason)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
