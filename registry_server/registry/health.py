"""An agent's health: each source's verdict kept apart, the agent available only when all of them agree.

Three sources decide whether an agent may be routed to:
- BUILD: its factory built an instance (set by registration, reload, and loading at start-up);
- LEASE: its lease, if it holds one, has not run out (set by the lease keeper);
- PROBE: its last probe, if it is probed, succeeded (set by remote-agent probes and circuit breakers).

A source that has said nothing counts as healthy. One source's verdict never overrides another's: a lease
renewal does not make available an agent whose factory failed, and a rebuild does not revive an expired lease.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from registry_server.domain.agent import AgentState


class HealthSource(enum.Enum):
    """Who judged the agent; when several find it unavailable, the earliest here gives the reason."""

    BUILD = "build"
    LEASE = "lease"
    PROBE = "probe"


@dataclass(frozen=True)
class AgentHealth:
    """The reasons each source gives for the agent being unavailable; empty when it is available."""

    failures: dict[HealthSource, str] = field(default_factory=dict)

    def judged(self, source: HealthSource, available: bool, reason: str) -> AgentHealth:
        """This health with `source`'s new verdict; an unavailable verdict always keeps a reason."""
        failures = dict(self.failures)
        if available:
            failures.pop(source, None)
        else:
            failures[source] = reason or f"unavailable ({source.value})"
        return AgentHealth(failures)

    @property
    def state(self) -> AgentState:
        """AVAILABLE when no source finds the agent unavailable."""
        return AgentState.UNAVAILABLE if self.failures else AgentState.AVAILABLE

    @property
    def reason(self) -> str:
        """Why the agent is unavailable, from the first source in HealthSource order that says so."""
        for source in HealthSource:
            if source in self.failures:
                return self.failures[source]
        return ""


HEALTHY = AgentHealth()
