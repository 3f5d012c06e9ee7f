"""SessionService: translates each RPC to a SessionStore call after validating it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from grpc import aio

from agentregistry.v1 import session_service_pb2 as pb
from agentregistry.v1 import session_service_pb2_grpc
from registry_server.api.session_messages import (
    entry_to_proto,
    invocation_from_proto,
    invocation_to_proto,
    optional_time,
    role_from_proto,
    session_to_proto,
    status_filter_from_proto,
    status_from_proto,
)
from registry_server.auth.isolation import acting_user, check_visible
from registry_server.domain.errors import ValidationError
from registry_server.domain.paging import encode_page_token, parse_page_request
from registry_server.domain.session import HistoryEntry, Invocation, SessionFilter
from registry_server.sessions.store import SessionStore
from registry_server.sessions.validation import (
    validate_history_entry,
    validate_invocation,
    validate_new_session,
    validate_session_id,
    validate_time_range,
    validate_user_id,
)

SESSION_PAGE_DEFAULT = 1000
SESSION_PAGE_MAX = 10_000
EXPORT_PAGE = 5000

Sequenced = TypeVar("Sequenced", HistoryEntry, Invocation)


class SessionServicer(session_service_pb2_grpc.SessionServiceServicer):
    """The SessionService over one SessionStore."""

    def __init__(self, store: SessionStore, *, max_content_bytes: int, retention: timedelta) -> None:
        self._store = store
        self._max_content_bytes = max_content_bytes
        self._retention = retention

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: aio.ServicerContext
    ) -> pb.CreateSessionResponse:
        metadata = dict(request.metadata)
        validate_new_session(request.user_id, metadata)
        session = await self._store.create_session(request.user_id, metadata)
        return pb.CreateSessionResponse(session=session_to_proto(session))

    async def GetSession(
        self, request: pb.GetSessionRequest, context: aio.ServicerContext
    ) -> pb.GetSessionResponse:
        validate_session_id(request.session_id)
        history_page = _seq_page(
            request.session_id, "history", request.history_page_size, request.history_page_token
        )
        invocation_page = _seq_page(
            request.session_id, "invocation", request.invocation_page_size, request.invocation_page_token
        )
        session = check_visible(await self._store.get_session(request.session_id))
        entries = await self._store.list_history(request.session_id, history_page[0], history_page[1])
        invocations = await self._store.list_invocations(
            request.session_id, invocation_page[0], invocation_page[1]
        )
        message = session_to_proto(session)
        message.history.extend(entry_to_proto(entry) for entry in entries)
        message.invocations.extend(invocation_to_proto(invocation) for invocation in invocations)
        return pb.GetSessionResponse(
            session=message,
            next_history_page_token=_next_seq_token(request.session_id, "history", entries, history_page[1]),
            next_invocation_page_token=_next_seq_token(
                request.session_id, "invocation", invocations, invocation_page[1]
            ),
        )

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        session_filter = _session_filter(request)
        fingerprint = {key: str(value) for key, value in asdict(session_filter).items()}
        page = parse_page_request(request.page_size, request.page_token, fingerprint)
        before = _session_cursor(page.cursor)
        sessions = await self._store.list_sessions(session_filter, before, page.size + 1)
        has_more = len(sessions) > page.size
        sessions = sessions[: page.size]
        token = ""
        if has_more:
            last = sessions[-1]
            token = encode_page_token([last.create_time.isoformat(), last.session_id], fingerprint)
        return pb.ListSessionsResponse(
            sessions=[session_to_proto(s) for s in sessions], next_page_token=token
        )

    async def AppendHistory(
        self, request: pb.AppendHistoryRequest, context: aio.ServicerContext
    ) -> pb.AppendHistoryResponse:
        validate_session_id(request.session_id)
        role = role_from_proto(request.role)
        validate_history_entry(request.content, request.agent_name, self._max_content_bytes)
        entry = await self._store.append_history(
            request.session_id, role, request.content, request.agent_name
        )
        return pb.AppendHistoryResponse(entry=entry_to_proto(entry))

    async def RecordInvocation(
        self, request: pb.RecordInvocationRequest, context: aio.ServicerContext
    ) -> pb.RecordInvocationResponse:
        validate_session_id(request.session_id)
        invocation = invocation_from_proto(request.invocation)
        validate_invocation(invocation, self._max_content_bytes)
        recorded = await self._store.record_invocation(request.session_id, invocation)
        return pb.RecordInvocationResponse(invocation=invocation_to_proto(recorded))

    async def UpdateSessionStatus(
        self, request: pb.UpdateSessionStatusRequest, context: aio.ServicerContext
    ) -> pb.UpdateSessionStatusResponse:
        validate_session_id(request.session_id)
        session = await self._store.update_status(request.session_id, status_from_proto(request.status))
        return pb.UpdateSessionStatusResponse(session=session_to_proto(session))

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: aio.ServicerContext
    ) -> pb.DeleteSessionResponse:
        validate_session_id(request.session_id)
        await self._store.delete_session(request.session_id)
        return pb.DeleteSessionResponse()

    async def ExportSession(
        self, request: pb.ExportSessionRequest, context: aio.ServicerContext
    ) -> pb.ExportSessionResponse:
        validate_session_id(request.session_id)
        session = check_visible(await self._store.get_session(request.session_id))
        history = await _read_all(
            lambda after: self._store.list_history(request.session_id, after, EXPORT_PAGE)
        )
        invocations = await _read_all(
            lambda after: self._store.list_invocations(request.session_id, after, EXPORT_PAGE)
        )
        document = {
            "session": _jsonable(asdict(session)),
            "history": [_jsonable(asdict(entry)) for entry in history],
            "invocations": [_jsonable(asdict(invocation)) for invocation in invocations],
        }
        content = json.dumps(document, indent=2, ensure_ascii=False)
        return pb.ExportSessionResponse(content=content, content_type="application/json")

    async def GetSessionStats(
        self, request: pb.GetSessionStatsRequest, context: aio.ServicerContext
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
        self, request: pb.PurgeExpiredSessionsRequest, context: aio.ServicerContext
    ) -> pb.PurgeExpiredSessionsResponse:
        purged = await self._store.purge_expired(datetime.now(UTC) - self._retention)
        return pb.PurgeExpiredSessionsResponse(purged_count=purged)


def _seq_page(session_id: str, kind: str, size: int, token: str) -> tuple[int, int]:
    """(after_seq, limit) of a history or invocation page."""
    page = parse_page_request(
        size,
        token,
        {"session": session_id, "list": kind},
        default_size=SESSION_PAGE_DEFAULT,
        max_size=SESSION_PAGE_MAX,
        size_field=f"{kind}_page_size",
        token_field=f"{kind}_page_token",
    )
    if page.cursor is not None and not isinstance(page.cursor, int):
        raise ValidationError.single(f"{kind}_page_token", "is not a token of this list")
    return page.cursor or 0, page.size


def _next_seq_token(session_id: str, kind: str, items: list[Any], limit: int) -> str:
    if len(items) < limit:
        return ""
    return encode_page_token(items[-1].seq, {"session": session_id, "list": kind})


def _session_filter(request: pb.ListSessionsRequest) -> SessionFilter:
    if request.user_id:
        validate_user_id(request.user_id)
    session_filter = SessionFilter(
        user_id=acting_user(request.user_id),
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


async def _read_all(read_page: Callable[[int], Awaitable[list[Sequenced]]]) -> list[Sequenced]:
    """Every item of a seq-ordered list, page after page."""
    items: list[Sequenced] = []
    while True:
        page = await read_page(items[-1].seq if items else 0)
        items += page
        if len(page) < EXPORT_PAGE:
            return items


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "value"):  # enums
        return value.value
    return value
