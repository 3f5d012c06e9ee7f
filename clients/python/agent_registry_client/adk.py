"""RegistrySessionService: Google ADK's BaseSessionService over the registry's SessionService.

Events, state in the app/user/session scopes and revisions live on the server; this class only converts.
Install with the `adk` extra.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from google.adk.errors._stale_session_error import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError as AdkAlreadyExistsError
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import (
    BaseSessionService,
    GetSessionConfig,
    ListSessionsResponse,
)
from google.adk.sessions.session import Session as AdkSession

from agent_registry_client.channel import DEFAULT_TARGET, DEFAULT_TIMEOUT_S, TlsOptions
from agent_registry_client.errors import AlreadyExists, Conflict, NotFound
from agent_registry_client.session_models import Session, SessionEvent
from agent_registry_client.sessions import SessionClient
from agentregistry.v1 import session_pb2

_EVENT_FIELDS = (
    "id",
    "invocation_id",
    "author",
    "timestamp",
    "content",
    "partial",
    "turn_complete",
    "actions",
)
_ACTION_FIELDS = ("state_delta", "artifact_delta", "transfer_to_agent", "escalate", "skip_summarization")


class RegistrySessionService(BaseSessionService):
    """ADK sessions stored by the Agent Registry: `RegistrySessionService(target="host:port", token=...)`.

    Overlapping writers of one session are told apart by the session's revision: the later one gets ADK's
    StaleSessionError (the server's ABORTED), never a silent lost update; re-read the session and retry.
    `session_metadata` is given to every session it creates (the registry's metadata, not ADK state).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        token: str | None = None,
        *,
        client: SessionClient | None = None,
        tls: TlsOptions | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        session_metadata: Mapping[str, str] | None = None,
    ) -> None:
        self._owns_client = client is None
        self._client = client or SessionClient(target, token=token or "", tls=tls, timeout=timeout)
        self._session_metadata = dict(session_metadata or {})

    @classmethod
    def from_client(cls, client: SessionClient) -> RegistrySessionService:
        """A service over an already connected SessionClient (which the caller keeps and closes)."""
        return cls(client=client)

    async def close(self) -> None:
        """Closes the channel if this service opened it."""
        if self._owns_client:
            await self._client.close()

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> AdkSession:
        """Creates a session; a duplicate id for the app and user raises ADK's AlreadyExistsError."""
        try:
            created = await self._client.create_session(
                user_id,
                self._session_metadata,
                app_name=app_name,
                session_id=(session_id or "").strip(),
                state=_json_safe(state or {}),
            )
        except AlreadyExists as error:
            raise AdkAlreadyExistsError(f"Session with id {session_id} already exists.") from error
        return _to_adk_session(created)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> AdkSession | None:
        """The session with merged state and the events the config keeps (filtered by the server)."""
        try:
            message, events_json = await self._client.get_session_adk_json(
                session_id.strip(),
                app_name=app_name,
                user_id=user_id,
                num_recent_events=config.num_recent_events if config else None,
                after_timestamp=config.after_timestamp if config else None,
            )
        except NotFound:
            return None
        return _adk_session_from_json(message, events_json)

    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        """The app's sessions (one user's, or everyone's) with merged state and no events, oldest update
        first, as ADK orders them."""
        sessions: list[AdkSession] = []
        token = ""
        while True:
            page = await self._client.list_sessions(
                app_name=app_name,
                user_id=user_id or "",
                by_update_time=True,
                include_state=True,
                page_size=1000,
                page_token=token,
            )
            sessions += (_to_adk_session(session) for session in page.sessions)
            token = page.next_page_token
            if not token:
                return ListSessionsResponse(sessions=sessions[::-1])

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Deletes the session; a missing one is not an error, as in ADK."""
        try:
            await self._client.delete_session(session_id.strip(), app_name=app_name, user_id=user_id)
        except NotFound:
            return

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state in the app, keys without the `user:` prefix."""
        return await self._client.get_user_state(user_id, app_name=app_name)

    async def append_event(self, session: AdkSession, event: Event) -> Event:
        """Stores the event and its state delta atomically, then applies both to `session`.

        Raises StaleSessionError when the stored session changed since `session` was read.
        """
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        marker = session._storage_update_marker
        try:
            appended = await self._client.append_event(
                session.id,
                _to_registry_event(event),
                app_name=session.app_name,
                user_id=session.user_id,
                expected_revision=int(marker) if marker else 0,
            )
        except Conflict as error:
            raise StaleSessionError(str(error)) from error
        except NotFound as error:
            raise ValueError(f"session {session.id} not found") from error
        event.id = appended.event.event_id
        self._commit_event_to_session(session, event)
        session.last_update_time = event.timestamp
        session._storage_update_marker = str(appended.revision)
        return event


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """State as JSON values (anything else as its string), as ADK's persistent services store it."""
    return dict(json.loads(json.dumps(value, default=str)))


def _to_adk_session(session: Session) -> AdkSession:
    adk_session = AdkSession(
        id=session.session_id,
        app_name=session.app_name,
        user_id=session.user_id,
        state=dict(session.state or {}),
        events=[_to_adk_event(event) for event in session.events],
        last_update_time=session.update_time.timestamp() if session.update_time else 0.0,
    )
    adk_session._storage_update_marker = str(session.revision)
    return adk_session


def _adk_session_from_json(message: session_pb2.Session, events_json: str) -> AdkSession:
    """The ADK session of the server's Session message and its events' ADK JSON, validated by pydantic in
    one pass over one JSON text (the events' text is embedded as the server sent it)."""
    update_time = (
        message.update_time.ToDatetime(tzinfo=UTC).timestamp() if message.HasField("update_time") else 0.0
    )
    document = (
        f'{{"id":{json.dumps(message.session_id)},"app_name":{json.dumps(message.app_name)},'
        f'"user_id":{json.dumps(message.user_id)},"state":{message.state_json or "{}"},'
        f'"last_update_time":{update_time!r},"events":{events_json}}}'
    )
    session = AdkSession.model_validate_json(document)
    session._storage_update_marker = str(message.revision)
    return session


def _to_registry_event(event: Event) -> SessionEvent:
    document = event.model_dump(mode="json", exclude_none=True)
    actions = document.get("actions") or {}
    return SessionEvent(
        event_id=event.id,
        invocation_id=event.invocation_id,
        author=event.author,
        timestamp=event.timestamp,
        content=document.get("content"),
        turn_complete=bool(event.turn_complete),
        state_delta=actions.get("state_delta") or {},
        artifact_delta=actions.get("artifact_delta") or {},
        transfer_to_agent=actions.get("transfer_to_agent") or "",
        escalate=bool(actions.get("escalate")),
        skip_summarization=bool(actions.get("skip_summarization")),
        actions_extra={k: v for k, v in actions.items() if k not in _ACTION_FIELDS},
        extra={k: v for k, v in document.items() if k not in _EVENT_FIELDS},
    )


def _to_adk_event(event: SessionEvent) -> Event:
    actions: dict[str, Any] = {**event.actions_extra, "state_delta": event.state_delta}
    if event.artifact_delta:
        actions["artifact_delta"] = event.artifact_delta
    if event.transfer_to_agent:
        actions["transfer_to_agent"] = event.transfer_to_agent
    if event.escalate:
        actions["escalate"] = True
    if event.skip_summarization:
        actions["skip_summarization"] = True
    document: dict[str, Any] = {
        **event.extra,
        "id": event.event_id,
        "invocation_id": event.invocation_id,
        "author": event.author,
        "timestamp": event.timestamp,
        "actions": actions,
    }
    if event.content is not None:
        document["content"] = event.content
    if event.turn_complete:
        document["turn_complete"] = True
    # Through JSON, so bytes (inline images) come back from their base64 form as ADK wrote them.
    return Event.model_validate_json(json.dumps(document))
