"""SessionClient: the typed async client of SessionService."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent_registry_client.base import Metadata, ServiceClient
from agent_registry_client.session_models import (
    AgentStats,
    HistoryEntry,
    Invocation,
    Role,
    Session,
    SessionList,
    SessionPage,
    SessionStatus,
)
from agentregistry.v1 import session_service_pb2 as pb
from agentregistry.v1 import session_service_pb2_grpc


class SessionClient(ServiceClient):
    """Reads and writes users' sessions. Use as `async with SessionClient(target) as sessions:`."""

    stub_type = session_service_pb2_grpc.SessionServiceStub
    stub: session_service_pb2_grpc.SessionServiceStub

    async def create_session(
        self,
        user_id: str,
        session_metadata: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Session:
        """Creates an ACTIVE session for `user_id`, labelled with `session_metadata`."""
        request = pb.CreateSessionRequest(user_id=user_id, metadata=dict(session_metadata or {}))
        return Session.from_proto(
            (await self._call(self.stub.CreateSession, request, timeout=timeout, metadata=metadata)).session
        )

    async def get_session_page(
        self,
        session_id: str,
        *,
        history_page_size: int = 0,
        history_page_token: str = "",
        invocation_page_size: int = 0,
        invocation_page_token: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> SessionPage:
        """The session with one page of history and of invocations, and the tokens of the next pages."""
        request = pb.GetSessionRequest(
            session_id=session_id,
            history_page_size=history_page_size,
            history_page_token=history_page_token,
            invocation_page_size=invocation_page_size,
            invocation_page_token=invocation_page_token,
        )
        response = await self._call(self.stub.GetSession, request, timeout=timeout, metadata=metadata)
        return SessionPage(
            Session.from_proto(response.session),
            response.next_history_page_token,
            response.next_invocation_page_token,
        )

    async def get_session(
        self, session_id: str, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> Session:
        """The session with its whole history and all invocations, fetched page by page."""
        options: dict[str, Any] = {"timeout": timeout, "metadata": metadata}
        first = await self.get_session_page(session_id, **options)
        history, invocations = list(first.session.history), list(first.session.invocations)
        token = first.next_history_page_token
        while token:  # the other list is asked for one item only: it is not used here
            page = await self.get_session_page(
                session_id, history_page_token=token, invocation_page_size=1, **options
            )
            history += page.session.history
            token = page.next_history_page_token
        token = first.next_invocation_page_token
        while token:
            page = await self.get_session_page(
                session_id, invocation_page_token=token, history_page_size=1, **options
            )
            invocations += page.session.invocations
            token = page.next_invocation_page_token
        return replace(first.session, history=history, invocations=invocations)

    async def list_sessions(
        self,
        *,
        user_id: str = "",
        status: SessionStatus = SessionStatus.UNSPECIFIED,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> SessionList:
        """One page of sessions, newest first; bounds are inclusive starts and exclusive ends."""
        request = pb.ListSessionsRequest(
            user_id=user_id, status=status.value, page_size=page_size, page_token=page_token
        )
        for field, moment in (
            (request.create_time_start, created_after),
            (request.create_time_end, created_before),
            (request.update_time_start, updated_after),
            (request.update_time_end, updated_before),
        ):
            if moment is not None:
                field.FromDatetime(moment)
        response = await self._call(self.stub.ListSessions, request, timeout=timeout, metadata=metadata)
        return SessionList([Session.from_proto(s) for s in response.sessions], response.next_page_token)

    async def iter_sessions(self, **filters: Any) -> AsyncIterator[Session]:
        """Every matching session, newest first, fetching page after page; takes list_sessions' arguments."""
        token = ""
        while True:
            page = await self.list_sessions(page_token=token, **filters)
            for session in page.sessions:
                yield session
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def append_history(
        self,
        session_id: str,
        role: Role,
        content: str,
        *,
        agent_name: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> HistoryEntry:
        """Appends a message; the entry returned carries its seq."""
        request = pb.AppendHistoryRequest(
            session_id=session_id, role=role.value, content=content, agent_name=agent_name
        )
        return HistoryEntry.from_proto(
            (await self._call(self.stub.AppendHistory, request, timeout=timeout, metadata=metadata)).entry
        )

    async def record_invocation(
        self,
        session_id: str,
        invocation: Invocation,
        *,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Invocation:
        """Records an agent call and makes its agent the session's last agent."""
        request = pb.RecordInvocationRequest(session_id=session_id, invocation=invocation.to_proto())
        return Invocation.from_proto(
            (
                await self._call(self.stub.RecordInvocation, request, timeout=timeout, metadata=metadata)
            ).invocation
        )

    async def update_session_status(
        self, session_id: str, status: SessionStatus, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> Session:
        """Closes a session as COMPLETED or ABANDONED; raises FailedPrecondition for other transitions."""
        request = pb.UpdateSessionStatusRequest(session_id=session_id, status=status.value)
        return Session.from_proto(
            (
                await self._call(self.stub.UpdateSessionStatus, request, timeout=timeout, metadata=metadata)
            ).session
        )

    async def delete_session(
        self, session_id: str, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> None:
        """Deletes a session with its history and invocations."""
        await self._call(
            self.stub.DeleteSession,
            pb.DeleteSessionRequest(session_id=session_id),
            timeout=timeout,
            metadata=metadata,
        )

    async def export_session(
        self, session_id: str, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> dict[str, Any]:
        """The whole session as a JSON document: session, history, invocations."""
        response = await self._call(
            self.stub.ExportSession,
            pb.ExportSessionRequest(session_id=session_id),
            timeout=timeout,
            metadata=metadata,
        )
        return json.loads(response.content)

    async def get_session_stats(
        self,
        *,
        user_id: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> list[AgentStats]:
        """Per-agent invocation statistics, most invoked first."""
        request = pb.GetSessionStatsRequest(user_id=user_id)
        if start is not None:
            request.start_time.FromDatetime(start)
        if end is not None:
            request.end_time.FromDatetime(end)
        response = await self._call(self.stub.GetSessionStats, request, timeout=timeout, metadata=metadata)
        return [AgentStats.from_proto(stats) for stats in response.agents]

    async def purge_expired_sessions(self, *, timeout: float | None = None, metadata: Metadata = ()) -> int:
        """Purges closed sessions past the retention period now; returns how many."""
        response = await self._call(
            self.stub.PurgeExpiredSessions,
            pb.PurgeExpiredSessionsRequest(),
            timeout=timeout,
            metadata=metadata,
        )
        return response.purged_count
