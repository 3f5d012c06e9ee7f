"""The contract every session store backend fulfils (tests/test_session_store_conformance.py checks it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from registry_server.domain.session import (
    AgentStats,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionFilter,
    SessionStatus,
)


class SessionStore(Protocol):
    """Durable sessions: every method that writes returns only once the write is durable."""

    async def create_session(self, user_id: str, metadata: dict[str, str]) -> Session:
        """Creates an ACTIVE session with a new unguessable id."""
        ...

    async def get_session(self, session_id: str) -> Session:
        """The session's summary; raises NotFoundError."""
        ...

    async def list_history(self, session_id: str, after_seq: int, limit: int) -> list[HistoryEntry]:
        """Up to `limit` history entries with seq > after_seq, oldest first."""
        ...

    async def list_invocations(self, session_id: str, after_seq: int, limit: int) -> list[Invocation]:
        """Up to `limit` invocations with seq > after_seq, oldest first."""
        ...

    async def list_sessions(
        self, session_filter: SessionFilter, before: tuple[datetime, str] | None, limit: int
    ) -> list[Session]:
        """Up to `limit` sessions newest first, strictly after the (create_time, session_id) cursor."""
        ...

    async def append_history(
        self, session_id: str, role: Role, content: str, agent_name: str
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        ...

    async def record_invocation(self, session_id: str, invocation: NewInvocation) -> Invocation:
        """Records the invocation and makes its agent the session's last agent."""
        ...

    async def set_last_agent(self, session_id: str, agent_name: str, query: str, response: str) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        ...

    async def update_status(self, session_id: str, status: SessionStatus) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        ...

    async def delete_session(self, session_id: str) -> None:
        """Deletes the session with its history and invocations; raises NotFoundError."""
        ...

    async def agent_stats(
        self, user_id: str, start: datetime | None, end: datetime | None
    ) -> list[AgentStats]:
        """Per-agent statistics of the invocations recorded in [start, end), most invoked first."""
        ...

    async def purge_expired(self, updated_before: datetime) -> int:
        """Deletes closed sessions last updated before `updated_before`, in batches; returns the count."""
        ...

    async def close(self) -> None:
        """Finishes pending writes and closes the store."""
        ...
