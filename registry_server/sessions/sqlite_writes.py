"""The SQLite session store's writes, each one transaction of the group-commit writer."""

from __future__ import annotations

import json
import secrets
import sqlite3
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
from registry_server.sessions.request_log import fingerprint
from registry_server.sessions.scopes import ScopedDelta, split_delta, without_temp
from registry_server.sessions.sqlite_connections import SqliteConnections
from registry_server.sessions.sqlite_rows import (
    already_exists,
    require_active,
    require_revision,
    resolve_sync,
    to_micros,
)
from registry_server.sessions.stored_event import storable, with_seq


class SqliteSessionWrites(SqliteConnections):
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
        now = self._clock()
        scoped = split_delta(state or {})
        request = fingerprint("create", app_name, user_id, session_id, metadata, without_temp(state or {}))
        new_id = session_id or secrets.token_urlsafe(18)

        def insert(connection: sqlite3.Connection) -> Session:
            try:
                cursor = connection.execute(
                    "INSERT INTO sessions (app_name, user_id, session_id, status, metadata, create_time, "
                    "update_time) VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?)",
                    (app_name, user_id, new_id, json.dumps(dict(metadata)), to_micros(now), to_micros(now)),
                )
            except sqlite3.IntegrityError:
                raise already_exists(user_id, new_id, app_name) from None
            sid = int(cursor.lastrowid or 0)
            _apply_state(connection, sid, app_name, user_id, scoped)
            _, created = resolve_sync(connection, SessionKey(new_id, app_name, user_id), with_state=True)
            return created

        return await self._write(insert, request_id, request)  # type: ignore[no-any-return]

    async def append_event(
        self, session_id: SessionRef, event: Event, *, expected_revision: int = 0, request_id: str = ""
    ) -> AppendedEvent:
        """Stores the event and applies its state delta to the three scopes, in one transaction.

        A partial event is returned unstored; `temp:` keys are dropped. Raises EtagMismatchError when
        `expected_revision` (if not 0) is not the session's revision.
        """
        stored = storable(event)
        scoped = split_delta(stored.actions.state_delta)
        body = event_to_json(stored)
        request = fingerprint("append_event", str(session_id), body, expected_revision)
        now = to_micros(self._clock())

        def append(connection: sqlite3.Connection) -> AppendedEvent:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            require_revision(session, expected_revision)
            if event.partial:
                return AppendedEvent(event, session.revision)
            seq, revision = session.event_count + 1, session.revision + 1
            connection.execute(
                "INSERT INTO events (sid, seq, timestamp, body) VALUES (?, ?, ?, ?)",
                (sid, seq, stored.timestamp, body),
            )
            _apply_state(connection, sid, session.app_name, session.user_id, scoped)
            connection.execute(
                "UPDATE sessions SET event_count = ?, revision = ?, update_time = ? WHERE sid = ?",
                (seq, revision, now, sid),
            )
            return AppendedEvent(with_seq(stored, seq), revision)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def append_history(
        self, session_id: SessionRef, role: Role, content: str, agent_name: str, *, request_id: str = ""
    ) -> HistoryEntry:
        """Appends an entry with the next seq; raises NotFoundError or InvalidStateError (not ACTIVE)."""
        now = self._clock()
        request = fingerprint("append_history", str(session_id), role.value, content, agent_name)

        def append(connection: sqlite3.Connection) -> HistoryEntry:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            seq = session.history_count + 1
            connection.execute(
                "UPDATE sessions SET history_count = ?, update_time = ? WHERE sid = ?",
                (seq, to_micros(now), sid),
            )
            connection.execute(
                "INSERT INTO history (sid, seq, role, content, agent_name, create_time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sid, seq, role.value, content, agent_name, to_micros(now)),
            )
            return HistoryEntry(seq, role, content, agent_name, now)

        return await self._write(append, request_id, request)  # type: ignore[no-any-return]

    async def record_invocation(
        self, session_id: SessionRef, invocation: NewInvocation, *, request_id: str = ""
    ) -> Invocation:
        """Records the invocation; a successful one makes its agent the session's last agent."""
        now = self._clock()
        request = fingerprint("record_invocation", str(session_id), vars(invocation))

        def record(connection: sqlite3.Connection) -> Invocation:
            sid, session = resolve_sync(connection, session_id)
            require_active(session)
            seq = session.invocation_count + 1
            assignments = "invocation_count = ?, update_time = ?"
            values: list[Any] = [seq, to_micros(now)]
            if invocation.success:
                assignments += ", last_agent_called = ?, last_query = ?, last_response = ?"
                values += [invocation.agent_name, invocation.query, invocation.response]
            connection.execute(
                f"UPDATE sessions SET {assignments} WHERE sid = ?",  # noqa: S608 - fixed fragments
                (*values, sid),
            )
            connection.execute(
                "INSERT INTO invocations (sid, seq, agent_name, query, response, success, duration_ms, "
                "error, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    seq,
                    invocation.agent_name,
                    invocation.query,
                    invocation.response,
                    int(invocation.success),
                    invocation.duration_ms,
                    invocation.error,
                    to_micros(now),
                ),
            )
            return Invocation(**vars(invocation), seq=seq, create_time=now)

        return await self._write(record, request_id, request)  # type: ignore[no-any-return]

    async def set_last_agent(
        self, session_id: SessionRef, agent_name: str, query: str, response: str
    ) -> None:
        """Sets the session's last agent, query and response (the context of its next turn)."""
        now = self._clock()

        def update(connection: sqlite3.Connection) -> None:
            sid, _ = resolve_sync(connection, session_id)
            connection.execute(
                "UPDATE sessions SET last_agent_called = ?, last_query = ?, last_response = ?, "
                "update_time = ? WHERE sid = ?",
                (agent_name, query, response, to_micros(now), sid),
            )

        await self._write(update)

    async def update_status(
        self, session_id: SessionRef, status: SessionStatus, *, request_id: str = ""
    ) -> Session:
        """Moves an ACTIVE session to `status`; raises InvalidStateError for any other transition."""
        now = self._clock()

        def update(connection: sqlite3.Connection) -> Session:
            sid, current = resolve_sync(connection, session_id)
            if current.status is status:
                return current
            require_active(current)
            connection.execute(
                "UPDATE sessions SET status = ?, update_time = ? WHERE sid = ?",
                (status.value, to_micros(now), sid),
            )
            return Session(**{**vars(current), "status": status, "update_time": now})

        request = fingerprint("update_status", str(session_id), status.value)
        return await self._write(update, request_id, request)  # type: ignore[no-any-return]

    async def delete_session(self, session_id: SessionRef, *, request_id: str = "") -> None:
        """Deletes the session with its events, state, history and invocations; raises NotFoundError."""

        def delete(connection: sqlite3.Connection) -> None:
            sid, _ = resolve_sync(connection, session_id)
            connection.execute("DELETE FROM sessions WHERE sid = ?", (sid,))

        await self._write(delete, request_id, fingerprint("delete", str(session_id)))


def _apply_state(
    connection: sqlite3.Connection, sid: int, app_name: str, user_id: str, scoped: ScopedDelta
) -> None:
    """Applies a state delta to the session's, the user's and the app's state rows."""
    targets = (
        (scoped.session, "session_state", "sid = ?", (sid,), "(sid, state)", "?, ?"),
        (scoped.user, "user_state", "app_name = ? AND user_id = ?", (app_name, user_id),
         "(app_name, user_id, state)", "?, ?, ?"),
        (scoped.app, "app_state", "app_name = ?", (app_name,), "(app_name, state)", "?, ?"),
    )  # fmt: skip
    for delta, table, where, keys, columns, placeholders in targets:
        if not delta:
            continue
        rows = connection.execute(f"SELECT state FROM {table} WHERE {where}", keys).fetchall()  # noqa: S608
        state = json.loads(rows[0][0]) if rows else {}
        state.update(delta)
        connection.execute(
            f"INSERT OR REPLACE INTO {table} {columns} VALUES ({placeholders})",  # noqa: S608
            (*keys, json.dumps(state, ensure_ascii=False)),
        )
