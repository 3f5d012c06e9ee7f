"""The agents in memory: looked up by name, listed in name order, judged healthy or not, and announced to
listeners on every change."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from registry_server.domain.agent import AgentState, RegisteredAgent
from registry_server.domain.errors import NotFoundError
from registry_server.domain.paging import PageRequest
from registry_server.registry.agent_build import runtime_of
from registry_server.registry.agent_listing import AgentFilter, AgentPage, page_of
from registry_server.registry.document import build_document
from registry_server.registry.health import HEALTHY, AgentHealth, HealthSource
from registry_server.registry.validation import validate_name

AgentListener = Callable[[str, RegisteredAgent | None], None]


class AgentTable:
    """The installed agents with their health; every change of one is announced to the listeners."""

    def __init__(self) -> None:
        self._agents: dict[str, RegisteredAgent] = {}
        self._health: dict[str, AgentHealth] = {}
        self._sorted_names: list[str] = []
        self._listeners: list[AgentListener] = []

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
        judged = with_health(current, health)
        if force_notify or judged != current:
            self._agents[name] = judged
            self._notify(name)
        return judged

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
        if previous is None or runtime_of(previous.spec) != runtime_of(agent.spec):
            built = agent.state is AgentState.AVAILABLE
            health = health.judged(HealthSource.BUILD, built, agent.state_message)
        else:
            agent = replace(agent, instance=previous.instance)
        self._health[agent.name] = health
        self._agents[agent.name] = with_health(agent, health)

    def _notify(self, name: str) -> None:
        agent = self._agents.get(name)
        for listener in self._listeners:
            listener(name, agent)


def with_health(agent: RegisteredAgent, health: AgentHealth) -> RegisteredAgent:
    """The agent with the public state and reason its health gives."""
    return replace(agent, state=health.state, state_message=health.reason)
