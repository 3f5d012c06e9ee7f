"""Where agents are built and run: behind the module allowlist, in worker processes or in process."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from registry_server.agents.local_agents import build_local_agent
from registry_server.agents.module_allowlist import ModuleAllowlist
from registry_server.agents.session_access import SessionAccess
from registry_server.agents.worker_pool import AgentWorkerPool
from registry_server.domain.agent import FactoryRef
from registry_server.registry.agent_protocol import RunnableAgent

log = logging.getLogger(__name__)


class AgentHost:
    """Builds agents for the registry. With 0 workers agent code runs in the server (tests, benchmarks)."""

    def __init__(
        self,
        allowed_modules: Sequence[str],
        workers: int,
        max_output_bytes: int,
        sessions: SessionAccess | None = None,
    ) -> None:
        self.allowlist = ModuleAllowlist(allowed_modules)
        self.max_output_bytes = max_output_bytes
        self.sessions = sessions
        self.pool = (
            AgentWorkerPool(workers, self.allowlist, max_output_bytes, sessions) if workers > 0 else None
        )

    async def start(self) -> None:
        """Starts the worker processes."""
        if self.pool is not None:
            await self.pool.start()
        log.info(
            "agents run %s; factories may come from: %s",
            f"in {len(self.pool.worker_pids())} worker processes" if self.pool else "in the server process",
            ", ".join(self.allowlist.prefixes) or "no module",
        )

    async def stop(self) -> None:
        """Stops the worker processes."""
        if self.pool is not None:
            await self.pool.stop()

    async def build(self, factory: FactoryRef, *, reimport: bool = False) -> RunnableAgent:
        """A new agent from `factory`; refused before any import unless its module is allowed."""
        self.allowlist.check(factory)
        if self.pool is None:
            return await build_local_agent(factory, reimport=reimport, sessions=self.sessions)
        return await self.pool.build(factory, reimport=reimport)
