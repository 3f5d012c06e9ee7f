"""The PostgreSQL session store's writes; seqs and revisions are claimed on the session's locked row."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from registry_server.domain.session import (
    DEFAULT_APP,
    AppendedEvent,
    Event,
    HistoryEntry,
    Invocation,
    NewInvocation,
    Role,
    Session,
    SessionKey,
    SessionRef,
    SessionStatus,
)
from registry_server.sessions.event_codec import event_to_json
from registry_server.sessions.postgres_connections import PostgresConnections
from registry_server.sessions.postgres_rows import resolve
from registry_server.sessions.request_log import fingerprint
from registry_server.sessions.scopes import ScopedDelta, split_delta, without_temp
from registry_server.sessions.sqlite_rows import already_exists, require_active, require_revision, to_micros
from registry_server.sessions.stored_event import storable


class PostgresSessionWrites(PostgresConnections):
    """Creates sessions, appends their events, history and invocations, and changes their status."""

    async def create_session(
        self,
        user_id: str,
        metadata: Mapping[str, str],
        *,
        app_name: str = DEFAULT_APP,
        session_id: str = "",
        state: Mapping[str, Any] | None = None,
        request_id: str = "",
    ) -> Session:
        """Creates an ACTIVE session (a new unguessable id unless one is given) with its initial state."""
        now = to_micros(self._clock())
        scoped = split_delta(state or {})
        request = fingerprint("create", app_name, user_id, session_id, metadata, without_temp(state or {}))
        new_id = session_id or secrets.token_urlsafe(18)

        async def insert(connection: Any) -> Session:
            sid = await connection.fetchval(
                "INSERT INTO sessions (app_name, user_id, session_id, status, metadata, create_time, "
                "update_time) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5) "
                "ON CONFLICT (app_name, user_id, session_id) DO NOTHING RETURNING sid",
                app_name,
                user_id,
                new_id,
                json.dumps(dict(metadata)),
                now,
            )
            if sid is None:
                raise already_exists(user_id, new_id, app_name)
            await _apply_state(connection, sid, app_name, user_id, scoped)
            return (await resolve(connection, SessionKey(new_id, app_name, user_id), with_state=True))[1]

        return await self._write(insert, request_id, request)  # type: ignore[no-any-return]

    async def append_event(
        self, session_id: SessionRef, event: Event, *, expected_revision: int = 0, request_id: str = ""
    ) -> AppendedEvent:
        """Stores the event and applies its state delta to the three scopes, in one transaction."""
        stored = storable(event)
        scoped = split_delta(stored.actions.state_delta)
        body = event_to_json(stored)
        request = fingerprint("append_event", str(session_id), body, expected_revision)
        now = to_micros(self._clock())

        async def append(connection: Any) -> AppendedEvent:
            sid, session = await resolve(connection, session_id, lock=True)
            require_active(session)
            require_revision(session, expected_revision)
            if event.partial:
                return AppendedEvent(event, session.revision)
            seq, revision = await connection.fetchrow(
                "UPDATE sessions SET event_count = event_count + 1, revision = revision + 1, "
                "update_time = $2 WHERE sid = $1 RETURNING event_count, revision",
                sid,
                now,
            )
            await connection.execute(
                "INSERT INTO session_events (sid, seq, timestamp, body) VALUES ($1, $2, $3, $4)",
                sid,
                seq,
                stored.timestamp,
                body,
            )
            await _apply_state(connection, sid, session.app_name, session.user_id, scoped)
            return AppendedEvent(Event(**{**vars(stored), "seq": seq}), revision)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def append_history(
        self, session_id: SessionRef, role: Role, content: str, agent_name: str, *, request_id: str = ""
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        now = self._clock()
        request = fingerprint("append_history", str(session_id), role.value, content, agent_name)

        async def append(connection: Any) -> HistoryEntry:
            sid, session = await resolve(connection, session_id, lock=True)
            require_active(session)
            seq = await connection.fetchval(
                "UPDATE sessions SET history_count = history_count + 1, update_time = $2 WHERE sid = $1 "
                "RETURNING history_count",
                sid,
                to_micros(now),
            )
            await connection.execute(
                "INSERT INTO session_history (sid, seq, role, content, agent_name, create_time) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                sid,
                seq,
                role.value,
                content,
                agent_name,
                to_micros(now),
            )
            return HistoryEntry(seq, role, content, agent_name, now)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def record_invocation(
        self, session_id: SessionRef, invocation: NewInvocation, *, request_id: str = ""
    ) -> Invocation:
        """Records the invocation; a successful one makes its agent the session's last agent."""
        now = self._clock()
        request = fingerprint("record_invocation", str(session_id), vars(invocation))

        async def record(connection: Any) -> Invocation:
            sid, session = await resolve(connection, session_id, lock=True)
            require_active(session)
            seq = await connection.fetchval(
                "UPDATE sessions SET invocation_count = invocation_count + 1, update_time = $2, "
                "last_agent_called = CASE WHEN $3 THEN $4 ELSE last_agent_called END, "
                "last_query = CASE WHEN $3 THEN $5 ELSE last_query END, "
                "last_response = CASE WHEN $3 THEN $6 ELSE last_response END "
                "WHERE sid = $1 RETURNING invocation_count",
                sid,
                to_micros(now),
                invocation.success,
                invocation.agent_name,
                invocation.query,
                invocation.response,
            )
            await connection.execute(
                "INSERT INTO session_invocations (sid, seq, agent_name, query, response, success, "
                "duration_ms, error, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                sid,
                seq,
                invocation.agent_name,
                invocation.query,
                invocation.response,
                int(invocation.success),
                invocation.duration_ms,
                invocation.error,
                to_micros(now),
            )
            return Invocation(**vars(invocation), seq=seq, create_time=now)

        return await self._write(record, request_id, request)  # type: ignore[no-any-return]

    async def set_last_agent(
        self, session_id: SessionRef, agent_name: str, query: str, response: str
    ) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        now = to_micros(self._clock())

        async def update(connection: Any) -> None:
            sid, _ = await resolve(connection, session_id)
            await connection.execute(
                "UPDATE sessions SET last_agent_called = $2, last_query = $3, last_response = $4, "
                "update_time = $5 WHERE sid = $1",
                sid,
                agent_name,
                query,
                response,
                now,
            )

        await self._write(update)

    async def update_status(
        self, session_id: SessionRef, status: SessionStatus, *, request_id: str = ""
    ) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        now = self._clock()

        async def update(connection: Any) -> Session:
            sid, current = await resolve(connection, session_id, lock=True)
            if current.status is status:
                return current
            require_active(current)
            await connection.execute(
                "UPDATE sessions SET status = $2, update_time = $3 WHERE sid = $1",
                sid,
                status.value,
                to_micros(now),
            )
            return Session(**{**vars(current), "status": status, "update_time": now})

        request = fingerprint("update_status", str(session_id), status.value)
        return await self._write(update, request_id, request)  # type: ignore[no-any-return]

    async def delete_session(self, session_id: SessionRef, *, request_id: str = "") -> None:
        """Deletes the session with everything it holds; raises NotFoundError."""

        async def delete(connection: Any) -> None:
            sid, _ = await resolve(connection, session_id)
            await connection.execute("DELETE FROM sessions WHERE sid = $1", sid)

        await self._write(delete, request_id, fingerprint("delete", str(session_id)))


async def _apply_state(connection: Any, sid: int, app_name: str, user_id: str, scoped: ScopedDelta) -> None:
    """Applies a state delta to the session's, the user's and the app's state rows (locked while read)."""
    targets = (
        (scoped.session, "session_state", ("sid",), (sid,)),
        (scoped.user, "session_user_state", ("app_name", "user_id"), (app_name, user_id)),
        (scoped.app, "session_app_state", ("app_name",), (app_name,)),
    )
    for delta, table, key_columns, keys in targets:
        if not delta:
            continue
        where = " AND ".join(f"{column} = ${n}" for n, column in enumerate(key_columns, start=1))
        columns = ", ".join(key_columns)
        placeholders = ", ".join(f"${n}" for n in range(1, len(key_columns) + 2))
        # Make sure the row exists, then lock it, so concurrent deltas from any instance merge in turn.
        await connection.execute(
            f"INSERT INTO {table} ({columns}, state) VALUES ({placeholders}) ON CONFLICT DO NOTHING",  # noqa: S608
            *keys,
            "{}",
        )
        text = await connection.fetchval(f"SELECT state FROM {table} WHERE {where} FOR UPDATE", *keys)  # noqa: S608
        state = json.loads(text) if text else {}
        state.update(delta)
        await connection.execute(
            f"UPDATE {table} SET state = ${len(keys) + 1} WHERE {where}",  # noqa: S608
            *keys,
            json.dumps(state, ensure_ascii=False),
        )
