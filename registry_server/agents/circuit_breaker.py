"""A circuit breaker over an agent's recent invocations: one that mostly fails is skipped for a cool-down."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from registry_server.domain.routing import Candidate

log = logging.getLogger(__name__)

CircuitListener = Callable[[str, bool, str], None]


@dataclass(frozen=True)
class BreakerSettings:
    """The circuit opens when more than `failure_ratio` of the last `window` calls (`min_calls` or more)
    failed, and stays open for `cooldown_s`."""

    window: int = 10
    min_calls: int = 4
    failure_ratio: float = 0.5
    cooldown_s: float = 30.0


class CircuitBreaker:
    """Closed: calls go through. Open: the agent is skipped until the cool-down ends. Then one trial call
    decides: a success closes the circuit, a failure opens it again."""

    def __init__(
        self, agent_name: str, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.agent_name = agent_name
        self.settings = settings
        self.on_change: CircuitListener | None = None
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=settings.window)
        self._opened_at: float | None = None
        self._reason = ""

    def record(self, success: bool) -> None:
        """Counts one finished invocation."""
        if self._opened_at is not None:
            if success:
                self._outcomes.clear()
                self._change(False, "a trial invocation succeeded")
            else:
                self._opened_at = self._clock()
            return
        self._outcomes.append(success)
        failures = self._outcomes.count(False)
        calls = len(self._outcomes)
        if calls >= self.settings.min_calls and failures / calls > self.settings.failure_ratio:
            self._opened_at = self._clock()
            self._change(True, f"{failures} of the last {calls} invocations failed")

    def open_reason(self) -> str | None:
        """Why the agent is skipped now, or None when it may be called (closed, or due for a trial)."""
        if self._opened_at is None:
            return None
        remaining = self._opened_at + self.settings.cooldown_s - self._clock()
        if remaining <= 0:
            return None
        return f"circuit breaker open: {self._reason}; skipped for another {remaining:.0f} s"

    def _change(self, opened: bool, reason: str) -> None:
        if not opened:
            self._opened_at = None
        self._reason = reason
        log.warning(
            "agent %s: circuit breaker %s (%s)", self.agent_name, "opened" if opened else "closed", reason
        )
        if self.on_change is not None:
            self.on_change(self.agent_name, opened, reason)


def open_circuit_reason(instance: object) -> str | None:
    """Why the agent `instance` is skipped by its circuit breaker, or None (also for agents without one)."""
    breaker = getattr(instance, "circuit", None)
    return breaker.open_reason() if isinstance(breaker, CircuitBreaker) else None


def split_open_circuits(
    candidates: Sequence[Candidate], instance_of: Callable[[str], object]
) -> tuple[list[Candidate], tuple[Candidate, ...]]:
    """The candidates that may be called, and those whose circuit is open, with the reason among theirs."""
    usable: list[Candidate] = []
    skipped: list[Candidate] = []
    for candidate in candidates:
        reason = open_circuit_reason(instance_of(candidate.agent_name))
        if reason is None:
            usable.append(candidate)
        else:
            skipped.append(replace(candidate, reasons=(*candidate.reasons, f"skipped: {reason}")))
    return usable, tuple(skipped)
