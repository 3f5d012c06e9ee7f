"""SQL fragments and row conversions of the SQLite session store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from registry_server.domain.errors import InvalidStateError, NotFoundError
from registry_server.domain.session import (
    Session,
    SessionFilter,
    SessionKey,
    SessionRef,
    SessionStatus,
)
from registry_server.sessions.scopes import merge_scopes

SESSION_COLUMNS = (
    "s.sid, s.app_name, s.user_id, s.session_id, s.status, s.metadata, s.create_time, s.update_time, "
    "s.last_agent_called, s.last_query, s.last_response, s.history_count, s.invocation_count, "
    "s.event_count, s.revision"
)
STATE_COLUMNS = "ss.state, us.state, a.state"
STATE_JOINS = (
    "LEFT JOIN session_state ss ON ss.sid = s.sid "
    "LEFT JOIN user_state us ON us.app_name = s.app_name AND us.user_id = s.user_id "
    "LEFT JOIN app_state a ON a.app_name = s.app_name"
)


def to_micros(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (UTC)."""
    return round(moment.timestamp() * 1_000_000)


def from_micros(micros: int) -> datetime:
    """The UTC datetime of integer microseconds since the epoch."""
    return datetime.fromtimestamp(micros / 1_000_000, UTC)


def as_key(ref: SessionRef) -> SessionKey:
    """A session reference as a key (a bare id matches any app and user)."""
    return ref if isinstance(ref, SessionKey) else SessionKey(ref)


def key_conditions(key: SessionKey) -> tuple[str, list[Any]]:
    """The WHERE clause selecting the sessions a key matches."""
    conditions, parameters = ["s.session_id = ?"], [key.session_id]
    if key.app_name:
        conditions.append("s.app_name = ?")
        parameters.append(key.app_name)
    if key.user_id:
        conditions.append("s.user_id = ?")
        parameters.append(key.user_id)
    return " AND ".join(conditions), parameters


async def resolve(
    connection: aiosqlite.Connection, ref: SessionRef, *, with_state: bool = False
) -> tuple[int, Session]:
    """(sid, session) of the one session the reference names; raises NotFoundError or InvalidStateError."""
    key = as_key(ref)
    where, parameters = key_conditions(key)
    columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
    joins = STATE_JOINS if with_state else ""
    rows = list(
        await connection.execute_fetchall(
            f"SELECT {columns} FROM sessions s {joins} WHERE {where} LIMIT 2",  # noqa: S608 - fixed fragments
            parameters,
        )
    )
    return _one(key, rows, with_state)


def resolve_sync(
    connection: sqlite3.Connection, ref: SessionRef, *, with_state: bool = False
) -> tuple[int, Session]:
    """resolve() on the writer's own connection, in the writer thread."""
    key = as_key(ref)
    where, parameters = key_conditions(key)
    columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
    joins = STATE_JOINS if with_state else ""
    rows = connection.execute(
        f"SELECT {columns} FROM sessions s {joins} WHERE {where} LIMIT 2",  # noqa: S608 - fixed fragments
        parameters,
    ).fetchall()
    return _one(key, rows, with_state)


def _one(key: SessionKey, rows: list[Any], with_state: bool) -> tuple[int, Session]:
    if not rows:
        raise not_found(key.session_id)
    if len(rows) > 1:
        raise InvalidStateError(
            f"several sessions have id {key.session_id!r}; give app_name and user_id to name one"
        )
    return int(rows[0][0]), session_from_row(rows[0], with_state=with_state)


def session_from_row(row: Any, *, with_state: bool = False) -> Session:
    """The session of a row of SESSION_COLUMNS (and STATE_COLUMNS when `with_state`)."""
    state = None
    if with_state:
        session_state, user_state, app_state = (json.loads(text) if text else {} for text in row[15:18])
        state = merge_scopes(session_state, user_state, app_state)
    return Session(
        app_name=row[1],
        user_id=row[2],
        session_id=row[3],
        status=SessionStatus(row[4]),
        metadata=json.loads(row[5]),
        create_time=from_micros(row[6]),
        update_time=from_micros(row[7]),
        last_agent_called=row[8],
        last_query=row[9],
        last_response=row[10],
        history_count=row[11],
        invocation_count=row[12],
        event_count=row[13],
        revision=row[14],
        state=state,
    )


def filter_conditions(session_filter: SessionFilter) -> tuple[list[str], list[Any]]:
    """WHERE conditions of ListSessions' filters."""
    conditions: list[str] = []
    parameters: list[Any] = []
    for column, value in (("s.user_id", session_filter.user_id), ("s.app_name", session_filter.app_name)):
        if value:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    if session_filter.status is not None:
        conditions.append("s.status = ?")
        parameters.append(session_filter.status.value)
    bounds = (
        ("s.create_time >= ?", session_filter.create_time_start),
        ("s.create_time < ?", session_filter.create_time_end),
        ("s.update_time >= ?", session_filter.update_time_start),
        ("s.update_time < ?", session_filter.update_time_end),
    )
    for condition, moment in bounds:
        if moment is not None:
            conditions.append(condition)
            parameters.append(to_micros(moment))
    return conditions, parameters


def require_active(session: Session) -> None:
    """Raises InvalidStateError unless the session accepts writes."""
    if session.status is not SessionStatus.ACTIVE:
        raise InvalidStateError(
            f"session {session.session_id} is {session.status.value}; only ACTIVE sessions accept writes, "
            "create a new one"
        )


def not_found(session_id: str) -> NotFoundError:
    """The error of a session that does not exist (or that the caller may not see)."""
    return NotFoundError(f"no session has id {session_id!r}; ListSessions shows a user's sessions")
