"""SessionService: translates each RPC to a SessionStore call after validating it."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from grpc import aio

from agentregistry.v1 import session_service_pb2 as pb
from agentregistry.v1 import session_service_pb2_grpc
from registry_server.api.session_export import export_page
from registry_server.api.session_messages import (
    entry_to_proto,
    event_from_proto,
    event_to_proto,
    invocation_from_proto,
    invocation_to_proto,
    optional_time,
    record_to_proto,
    role_from_proto,
    session_to_proto,
    status_filter_from_proto,
    status_from_proto,
)
from registry_server.api.session_requests import (
    create_arguments,
    event_filter,
    session_key,
    session_order,
    trim_to_bytes,
)
from registry_server.auth.isolation import acting_app, acting_user, check_visible
from registry_server.domain.errors import ValidationError
from registry_server.domain.paging import encode_page_token, parse_page_request
from registry_server.domain.session import DEFAULT_APP, SessionFilter
from registry_server.sessions.adk_event_json import adk_events_within
from registry_server.sessions.event_codec import records_page
from registry_server.sessions.event_validation import (
    DEFAULT_MAX_EVENT_BYTES,
    validate_app_name,
    validate_event,
    validate_request_id,
)
from registry_server.sessions.paging import PAGE_MAX_BYTES
from registry_server.sessions.store import SessionStore
from registry_server.sessions.validation import (
    validate_history_entry,
    validate_invocation,
    validate_new_session,
    validate_time_range,
    validate_user_id,
)

SESSION_PAGE_DEFAULT = 1000
SESSION_PAGE_MAX = 10_000
# One GetSession response carries three lists: events get half the byte budget, history and invocations
# a quarter each, so the whole stays within the message limit.
EVENT_BYTES = PAGE_MAX_BYTES // 2
SEQ_LIST_BYTES = PAGE_MAX_BYTES // 4


class SessionServicer(session_service_pb2_grpc.SessionServiceServicer):
    """The SessionService over one SessionStore."""

    def __init__(
        self,
        store: SessionStore,
        *,
        max_content_bytes: int,
        retention: timedelta,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._store = store
        self._max_content_bytes = max_content_bytes
        self._max_event_bytes = max_event_bytes
        self._retention = retention

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.CreateSessionResponse:
        metadata = dict(request.metadata)
        validate_new_session(request.user_id, metadata)
        arguments = create_arguments(request)
        session = await self._store.create_session(request.user_id, metadata, **arguments)
        return pb.CreateSessionResponse(session=session_to_proto(session))

    async def GetSession(
        self, request: pb.GetSessionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetSessionResponse:
        key = session_key(request)
        history_page = _seq_page(
            request.session_id, "history", request.history_page_size, request.history_page_token
        )
        invocation_page = _seq_page(
            request.session_id, "invocation", request.invocation_page_size, request.invocation_page_token
        )
        filters = event_filter(request)
        event_page = _seq_page(
            request.session_id, "event", request.event_page_size, request.event_page_token, asdict(filters)
        )
        session, events = await self._store.read_session_documents(
            key, filters, event_page[0], event_page[1], EVENT_BYTES
        )
        check_visible(session)
        # An ADK session has events only: its empty lists cost no further reads.
        entries = (
            await self._store.list_history(key, history_page[0], history_page[1], SEQ_LIST_BYTES)
            if session.history_count
            else []
        )
        invocations = (
            await self._store.list_invocations(key, invocation_page[0], invocation_page[1], SEQ_LIST_BYTES)
            if session.invocation_count
            else []
        )
        adk_json, next_event_seq = "", events.next_after_seq
        if request.adk_events_json:
            adk_json, left_out = adk_events_within(events.rows, EVENT_BYTES)
            next_event_seq = next_event_seq if left_out is None else left_out
        event_token = ""
        if next_event_seq is not None:
            event_token = encode_page_token(
                next_event_seq, {"session": request.session_id, "list": "event", **asdict(filters)}
            )
        response = pb.GetSessionResponse(
            session=session_to_proto(session),
            next_history_page_token=_next_seq_token(
                request.session_id, "history", entries, session.history_count
            ),
            next_invocation_page_token=_next_seq_token(
                request.session_id, "invocation", invocations, session.invocation_count
            ),
            next_event_page_token=event_token,
        )
        # Filled in place: the message a constructor is given is copied, and the events are most of it.
        message = response.session
        if request.adk_events_json:
            response.adk_events_json = adk_json
        else:
            message.events.extend(record_to_proto(record) for record in records_page(events).events)
        message.history.extend(entry_to_proto(entry) for entry in entries)
        message.invocations.extend(invocation_to_proto(invocation) for invocation in invocations)
        return response

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.ListSessionsResponse:
        session_filter = _session_filter(request)
        order = session_order(request.order_by)
        fingerprint = {key: str(value) for key, value in asdict(session_filter).items()}
        fingerprint.update(order=order.value, state=str(request.include_state))
        page = parse_page_request(request.page_size, request.page_token, fingerprint)
        before = _session_cursor(page.cursor)
        sessions = await self._store.list_sessions(
            session_filter, before, page.size + 1, order=order, with_state=request.include_state
        )
        messages, has_more = trim_to_bytes([session_to_proto(s) for s in sessions], page.size, PAGE_MAX_BYTES)
        token = ""
        if has_more:
            last = sessions[len(messages) - 1]
            moment = last.update_time if order.value == "update_time" else last.create_time
            token = encode_page_token([moment.isoformat(), last.session_id], fingerprint)
        return pb.ListSessionsResponse(sessions=messages, next_page_token=token)

    async def AppendHistory(
        self, request: pb.AppendHistoryRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.AppendHistoryResponse:
        key = session_key(request)
        role = role_from_proto(request.role)
        validate_history_entry(request.content, request.agent_name, self._max_content_bytes)
        validate_request_id(request.request_id)
        entry = await self._store.append_history(
            key, role, request.content, request.agent_name, request_id=request.request_id
        )
        return pb.AppendHistoryResponse(entry=entry_to_proto(entry))

    async def RecordInvocation(
        self, request: pb.RecordInvocationRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.RecordInvocationResponse:
        key = session_key(request)
        invocation = invocation_from_proto(request.invocation)
        validate_invocation(invocation, self._max_content_bytes)
        validate_request_id(request.request_id)
        recorded = await self._store.record_invocation(key, invocation, request_id=request.request_id)
        return pb.RecordInvocationResponse(invocation=invocation_to_proto(recorded))

    async def UpdateSessionStatus(
        self, request: pb.UpdateSessionStatusRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.UpdateSessionStatusResponse:
        key = session_key(request)
        status = status_from_proto(request.status)
        validate_request_id(request.request_id)
        session = await self._store.update_status(key, status, request_id=request.request_id)
        return pb.UpdateSessionStatusResponse(session=session_to_proto(session))

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.DeleteSessionResponse:
        key = session_key(request)
        validate_request_id(request.request_id)
        await self._store.delete_session(key, request_id=request.request_id)
        return pb.DeleteSessionResponse()

    async def AppendEvent(
        self, request: pb.AppendEventRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.AppendEventResponse:
        key = session_key(request)
        validate_request_id(request.request_id)
        if request.expected_revision < 0:
            raise ValidationError.single("expected_revision", "must not be negative")
        event = event_from_proto(request.event)
        validate_event(event, request.event.ByteSize(), self._max_event_bytes)
        appended = await self._store.append_event(
            key, event, expected_revision=request.expected_revision, request_id=request.request_id
        )
        return pb.AppendEventResponse(event=event_to_proto(appended.event), revision=appended.revision)

    async def GetUserState(
        self, request: pb.GetUserStateRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetUserStateResponse:
        app_name = acting_app(request.app_name) or DEFAULT_APP
        validate_app_name(app_name)
        validate_user_id(request.user_id)
        user_id = acting_user(request.user_id)
        state = await self._store.get_user_state(app_name, user_id)
        return pb.GetUserStateResponse(state_json=json.dumps(state, ensure_ascii=False))

    async def ExportSession(
        self, request: pb.ExportSessionRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.ExportSessionResponse:
        content, token = await export_page(self._store, session_key(request), request.page_token)
        return pb.ExportSessionResponse(
            content=content, content_type="application/json", next_page_token=token
        )

    async def GetSessionStats(
        self, request: pb.GetSessionStatsRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.GetSessionStatsResponse:
        if request.user_id:
            validate_user_id(request.user_id)
        user_id = acting_user(request.user_id)
        start = optional_time(request, "start_time")
        end = optional_time(request, "end_time")
        validate_time_range(start, end, "start_time", "end_time")
        stats = await self._store.agent_stats(user_id, start, end)
        return pb.GetSessionStatsResponse(
            agents=[
                pb.AgentStats(
                    agent_name=s.agent_name,
                    invocations=s.invocations,
                    successes=s.successes,
                    failures=s.failures,
                    success_rate=s.success_rate,
                    p50_duration_ms=s.p50_duration_ms,
                    p95_duration_ms=s.p95_duration_ms,
                )
                for s in stats
            ],
            total_invocations=sum(s.invocations for s in stats),
        )

    async def PurgeExpiredSessions(
        self, request: pb.PurgeExpiredSessionsRequest, context: aio.ServicerContext[Any, Any]
    ) -> pb.PurgeExpiredSessionsResponse:
        purged = await self._store.purge_expired(datetime.now(UTC) - self._retention)
        return pb.PurgeExpiredSessionsResponse(purged_count=purged)


def _seq_page(
    session_id: str, kind: str, size: int, token: str, filters: dict[str, Any] | None = None
) -> tuple[int, int]:
    """(after_seq, limit) of a history, invocation or event page (for events: the seq to start at)."""
    page = parse_page_request(
        size,
        token,
        {"session": session_id, "list": kind, **(filters or {})},
        default_size=SESSION_PAGE_DEFAULT,
        max_size=SESSION_PAGE_MAX,
        size_field=f"{kind}_page_size",
        token_field=f"{kind}_page_token",
    )
    if page.cursor is not None and not isinstance(page.cursor, int):
        raise ValidationError.single(f"{kind}_page_token", "is not a token of this list")
    return page.cursor or 0, page.size


def _next_seq_token(session_id: str, kind: str, items: list[Any], count: int) -> str:
    """The token of the next page; seqs run 1..count with no gaps, so more remain while the last < count."""
    if not items or items[-1].seq >= count:
        return ""
    return encode_page_token(items[-1].seq, {"session": session_id, "list": kind})


def _session_filter(request: pb.ListSessionsRequest) -> SessionFilter:
    if request.user_id:
        validate_user_id(request.user_id)
    if request.app_name:
        validate_app_name(request.app_name)
    session_filter = SessionFilter(
        user_id=acting_user(request.user_id),
        app_name=acting_app(request.app_name),
        status=status_filter_from_proto(request.status),
        create_time_start=optional_time(request, "create_time_start"),
        create_time_end=optional_time(request, "create_time_end"),
        update_time_start=optional_time(request, "update_time_start"),
        update_time_end=optional_time(request, "update_time_end"),
    )
    validate_time_range(
        session_filter.create_time_start,
        session_filter.create_time_end,
        "create_time_start",
        "create_time_end",
    )
    validate_time_range(
        session_filter.update_time_start,
        session_filter.update_time_end,
        "update_time_start",
        "update_time_end",
    )
    return session_filter


def _session_cursor(cursor: Any) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        moment, session_id = cursor
        return datetime.fromisoformat(moment), str(session_id)
    except (TypeError, ValueError):
        raise ValidationError.single("page_token", "is not a token of ListSessions") from None
