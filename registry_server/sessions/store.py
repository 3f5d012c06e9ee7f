"""The contract every session store backend fulfils (tests/test_session_store_conformance.py checks it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from registry_server.domain.session import (
    AgentStats,
    AppendedEvent,
    Event,
    EventFilter,
    EventPage,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionFilter,
    SessionOrder,
    SessionRef,
    SessionStatus,
    StoredEventPage,
)


class SessionStore(Protocol):
    """Durable sessions: every method that writes returns only once the write is durable.

    A session is named by a SessionRef: a bare id, or a SessionKey whose empty app or user match any.
    Every mutation takes an optional `request_id`: a repeated id returns the first result and writes nothing.
    """

    async def create_session(
        self,
        user_id: str,
        metadata: Mapping[str, str],
        *,
        app_name: str = ...,
        session_id: str = "",
        state: Mapping[str, Any] | None = None,
        request_id: str = "",
    ) -> Session:
        """Creates an ACTIVE session (the given id, else a new unguessable one); AlreadyExistsError."""
        ...

    async def get_session(self, session_id: SessionRef, *, with_state: bool = False) -> Session:
        """The session's summary; raises NotFoundError."""
        ...

    async def read_session(
        self,
        session_id: SessionRef,
        event_filter: EventFilter,
        start_seq: int,
        limit: int,
        max_bytes: int = ...,
    ) -> tuple[Session, EventPage]:
        """The session with merged state and one page of its events, from one snapshot."""
        ...

    async def read_session_documents(
        self,
        session_id: SessionRef,
        event_filter: EventFilter,
        start_seq: int,
        limit: int,
        max_bytes: int = ...,
    ) -> tuple[Session, StoredEventPage]:
        """As read_session, with the page's events as the documents they were stored as (none decoded)."""
        ...

    async def list_history(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = ...
    ) -> list[HistoryEntry]:
        """Up to `limit` history entries with seq > after_seq, oldest first, within `max_bytes`."""
        ...

    async def list_invocations(
        self, session_id: SessionRef, after_seq: int, limit: int, max_bytes: int = ...
    ) -> list[Invocation]:
        """Up to `limit` invocations with seq > after_seq, oldest first, within `max_bytes`."""
        ...

    async def list_sessions(
        self,
        session_filter: SessionFilter,
        before: tuple[datetime, str] | None,
        limit: int,
        *,
        order: SessionOrder = ...,
        with_state: bool = False,
    ) -> list[Session]:
        """Up to `limit` sessions newest first (by `order`), strictly after the (time, session_id) cursor."""
        ...

    async def get_user_state(self, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state in an app, keys without the prefix."""
        ...

    async def append_event(
        self, session_id: SessionRef, event: Event, *, expected_revision: int = 0, request_id: str = ""
    ) -> AppendedEvent:
        """Stores the event and applies its state delta to the three scopes atomically."""
        ...

    async def append_history(
        self, session_id: SessionRef, role: Role, content: str, agent_name: str, *, request_id: str = ""
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        ...

    async def record_invocation(
        self, session_id: SessionRef, invocation: NewInvocation, *, request_id: str = ""
    ) -> Invocation:
        """Records the invocation; a successful one makes its agent the session's last agent."""
        ...

    async def set_last_agent(
        self, session_id: SessionRef, agent_name: str, query: str, response: str
    ) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        ...

    async def update_status(
        self, session_id: SessionRef, status: SessionStatus, *, request_id: str = ""
    ) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        ...

    async def delete_session(self, session_id: SessionRef, *, request_id: str = "") -> None:
        """Deletes the session with everything it holds; raises NotFoundError."""
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
