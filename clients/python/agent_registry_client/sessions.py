"""SessionClient: the typed async client of SessionService."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent_registry_client.base import Metadata, ServiceClient
from agent_registry_client.errors import AgentRegistryError, StatusCode
from agent_registry_client.session_models import (
    AgentStats,
    AppendedEvent,
    HistoryEntry,
    Invocation,
    Role,
    Session,
    SessionEvent,
    SessionList,
    SessionPage,
    SessionStatus,
)
from agentregistry.v1 import session_pb2, session_service_pb2_grpc
from agentregistry.v1 import session_service_pb2 as pb

# The most events a GetSession page holds; pages are cut by bytes well before that for all but tiny events.
_EVENT_PAGE_MAX = 10_000


def new_request_id() -> str:
    """A fresh idempotency key: every mutation carries one, so retrying it after UNAVAILABLE is safe."""
    return uuid.uuid4().hex


class SessionClient(ServiceClient):
    """Reads and writes users' sessions. Use as `async with SessionClient(target) as sessions:`.

    Every mutation sends a request id (made here unless given), so the channel's retries of UNAVAILABLE
    never apply a write twice.
    """

    stub_type = session_service_pb2_grpc.SessionServiceStub
    stub: session_service_pb2_grpc.SessionServiceStub

    async def create_session(
        self,
        user_id: str,
        session_metadata: Mapping[str, str] | None = None,
        *,
        app_name: str = "",
        session_id: str = "",
        state: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Session:
        """Creates an ACTIVE session for `user_id`: the given id (unique per app and user) or a new one."""
        request = pb.CreateSessionRequest(
            user_id=user_id,
            metadata=dict(session_metadata or {}),
            app_name=app_name,
            session_id=session_id,
            state_json=json.dumps(dict(state)) if state else "",
            request_id=request_id or new_request_id(),
        )
        return Session.from_proto(
            (await self._call(self.stub.CreateSession, request, timeout=timeout, metadata=metadata)).session
        )

    async def append_event(
        self,
        session_id: str,
        event: SessionEvent,
        *,
        app_name: str = "",
        user_id: str = "",
        expected_revision: int = 0,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> AppendedEvent:
        """Appends an event and applies its state delta; raises Aborted when expected_revision is stale."""
        request = pb.AppendEventRequest(
            session_id=session_id,
            app_name=app_name,
            user_id=user_id,
            event=event.to_proto(),
            expected_revision=expected_revision,
            request_id=request_id or new_request_id(),
        )
        response = await self._call(self.stub.AppendEvent, request, timeout=timeout, metadata=metadata)
        return AppendedEvent(SessionEvent.from_proto(response.event), response.revision)

    async def get_session_events(
        self,
        session_id: str,
        *,
        app_name: str = "",
        user_id: str = "",
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Session:
        """The session with its merged state and every event the filters keep, fetched page by page."""
        message, events = await self.get_session_messages(
            session_id,
            timeout=timeout,
            metadata=metadata,
            app_name=app_name,
            user_id=user_id,
            num_recent_events=num_recent_events,
            after_timestamp=after_timestamp,
        )
        session = Session.from_proto(message)
        return replace(session, events=[SessionEvent.from_proto(event) for event in events])

    async def get_session_messages(
        self,
        session_id: str,
        *,
        app_name: str = "",
        user_id: str = "",
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> tuple[session_pb2.Session, list[session_pb2.Event]]:
        """The Session message (no history or invocations) and every Event message the filters keep, for
        adapters that convert the messages themselves."""
        token, events = "", []
        while True:
            request = pb.GetSessionRequest(
                session_id=session_id,
                app_name=app_name,
                user_id=user_id,
                history_page_size=1,
                invocation_page_size=1,
                event_page_token=token,
            )
            if num_recent_events is not None:
                request.num_recent_events = num_recent_events
            if after_timestamp is not None:
                request.after_timestamp = after_timestamp
            response = await self._call(self.stub.GetSession, request, timeout=timeout, metadata=metadata)
            events += response.session.events
            token = response.next_event_page_token
            if not token:
                session = response.session
                for name in ("events", "history", "invocations"):
                    session.ClearField(name)
                return session, events

    async def get_session_adk_json(
        self,
        session_id: str,
        *,
        app_name: str = "",
        user_id: str = "",
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> tuple[session_pb2.Session, str]:
        """The Session message (no events, history or invocations) and every event the filters keep as one
        JSON array of Google ADK `Event` objects, for ADK adapters to validate in one pass."""
        token, pages = "", []
        while True:
            request = pb.GetSessionRequest(
                session_id=session_id,
                app_name=app_name,
                user_id=user_id,
                history_page_size=1,
                invocation_page_size=1,
                event_page_size=_EVENT_PAGE_MAX,
                event_page_token=token,
                adk_events_json=True,
            )
            if num_recent_events is not None:
                request.num_recent_events = num_recent_events
            if after_timestamp is not None:
                request.after_timestamp = after_timestamp
            response = await self._call(self.stub.GetSession, request, timeout=timeout, metadata=metadata)
            if not response.adk_events_json:  # a server always sends "[]" at least, unless it predates this
                raise AgentRegistryError(
                    StatusCode.UNIMPLEMENTED, "the server does not return ADK event JSON; upgrade it"
                )
            pages.append(response.adk_events_json)
            token = response.next_event_page_token
            if not token:
                session = response.session
                for name in ("history", "invocations"):
                    session.ClearField(name)
                return session, _joined_arrays(pages)

    async def get_user_state(
        self, user_id: str, *, app_name: str = "", timeout: float | None = None, metadata: Metadata = ()
    ) -> dict[str, Any]:
        """The user's state in the app (the `user:` scope), keys without the prefix."""
        request = pb.GetUserStateRequest(app_name=app_name, user_id=user_id)
        response = await self._call(self.stub.GetUserState, request, timeout=timeout, metadata=metadata)
        return dict(json.loads(response.state_json or "{}"))

    async def get_session_page(
        self,
        session_id: str,
        *,
        history_page_size: int = 0,
        history_page_token: str = "",
        invocation_page_size: int = 0,
        invocation_page_token: str = "",
        app_name: str = "",
        user_id: str = "",
        event_page_size: int = 0,
        event_page_token: str = "",
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> SessionPage:
        """The session with one page of events, history and invocations, and the tokens of the next pages."""
        request = pb.GetSessionRequest(
            session_id=session_id,
            app_name=app_name,
            user_id=user_id,
            history_page_size=history_page_size,
            history_page_token=history_page_token,
            invocation_page_size=invocation_page_size,
            invocation_page_token=invocation_page_token,
            event_page_size=event_page_size,
            event_page_token=event_page_token,
        )
        if num_recent_events is not None:
            request.num_recent_events = num_recent_events
        if after_timestamp is not None:
            request.after_timestamp = after_timestamp
        response = await self._call(self.stub.GetSession, request, timeout=timeout, metadata=metadata)
        return SessionPage(
            Session.from_proto(response.session),
            response.next_history_page_token,
            response.next_invocation_page_token,
            response.next_event_page_token,
        )

    async def get_session(
        self, session_id: str, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> Session:
        """The session with its whole history and all invocations, fetched page by page."""
        first = await self.get_session_page(session_id, timeout=timeout, metadata=metadata)
        history, invocations = list(first.session.history), list(first.session.invocations)
        token = first.next_history_page_token
        while token:  # the other list is asked for one item only: it is not used here
            page = await self.get_session_page(
                session_id,
                timeout=timeout,
                metadata=metadata,
                history_page_token=token,
                invocation_page_size=1,
            )
            history += page.session.history
            token = page.next_history_page_token
        token = first.next_invocation_page_token
        while token:
            page = await self.get_session_page(
                session_id,
                timeout=timeout,
                metadata=metadata,
                invocation_page_token=token,
                history_page_size=1,
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
        app_name: str = "",
        by_update_time: bool = False,
        include_state: bool = False,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> SessionList:
        """One page of sessions, newest first (created, or updated with `by_update_time`); bounds are
        inclusive starts and exclusive ends."""
        request = pb.ListSessionsRequest(
            user_id=user_id,
            status=status.value,
            page_size=page_size,
            page_token=page_token,
            app_name=app_name,
            order_by=pb.SESSION_ORDER_UPDATE_TIME_DESC if by_update_time else pb.SESSION_ORDER_UNSPECIFIED,
            include_state=include_state,
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
        """Every matching session, newest first, fetching page after page."""
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
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> HistoryEntry:
        """Appends a message; the entry returned carries its seq."""
        request = pb.AppendHistoryRequest(
            session_id=session_id,
            role=role.value,
            content=content,
            agent_name=agent_name,
            request_id=request_id or new_request_id(),
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
        request = pb.RecordInvocationRequest(
            session_id=session_id, invocation=invocation.to_proto(), request_id=new_request_id()
        )
        return Invocation.from_proto(
            (
                await self._call(self.stub.RecordInvocation, request, timeout=timeout, metadata=metadata)
            ).invocation
        )

    async def update_session_status(
        self, session_id: str, status: SessionStatus, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> Session:
        """Closes a session as COMPLETED or ABANDONED; raises FailedPrecondition for other transitions."""
        request = pb.UpdateSessionStatusRequest(
            session_id=session_id, status=status.value, request_id=new_request_id()
        )
        return Session.from_proto(
            (
                await self._call(self.stub.UpdateSessionStatus, request, timeout=timeout, metadata=metadata)
            ).session
        )

    async def delete_session(
        self,
        session_id: str,
        *,
        app_name: str = "",
        user_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> None:
        """Deletes a session with its events, state, history and invocations."""
        request = pb.DeleteSessionRequest(
            session_id=session_id, app_name=app_name, user_id=user_id, request_id=new_request_id()
        )
        await self._call(self.stub.DeleteSession, request, timeout=timeout, metadata=metadata)

    async def export_session(
        self,
        session_id: str,
        *,
        app_name: str = "",
        user_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> dict[str, Any]:
        """The whole session as one JSON document: session, events, history, invocations (read by pages)."""
        document: dict[str, Any] = {}
        token = ""
        while True:
            request = pb.ExportSessionRequest(
                session_id=session_id, app_name=app_name, user_id=user_id, page_token=token
            )
            response = await self._call(self.stub.ExportSession, request, timeout=timeout, metadata=metadata)
            page = json.loads(response.content)
            for name, value in page.items():
                if isinstance(value, list):
                    document.setdefault(name, []).extend(value)
                else:
                    document[name] = value
            token = response.next_page_token
            if not token:
                return document

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
        return int(response.purged_count)


def _joined_arrays(arrays: list[str]) -> str:
    """One JSON array text of the elements of several JSON array texts, in order."""
    members = [inner for array in arrays if (inner := array.strip()[1:-1].strip())]
    return "[" + ",".join(members) + "]"
