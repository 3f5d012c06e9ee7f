"""SQL fragments, row conversions and checks of the SQLite session store; the PostgreSQL one shares them
(postgres_rows.py holds only what differs there)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    InvalidStateError,
    NotFoundError,
)
from registry_server.domain.session import (
    DEFAULT_APP,
    Session,
    SessionFilter,
    SessionKey,
    SessionOrder,
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
    """A session reference as a key (a bare id matches any app and user; see ONE_SESSION_ROWS)."""
    return ref if isinstance(ref, SessionKey) else SessionKey(ref)


# A router session and the ADK sessions of the agents it invoked share one id in different apps, so a
# bare id (the router's and agentctl's form) names the "default" app's session when there is one.
ONE_SESSION_ROWS = f"ORDER BY CASE WHEN s.app_name = '{DEFAULT_APP}' THEN 0 ELSE 1 END LIMIT 2"


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
    rows = list(
        await connection.execute_fetchall(
            f"{select_sessions(with_state=with_state)} WHERE {where} {ONE_SESSION_ROWS}",
            parameters,
        )
    )
    return one_session(key, rows, with_state=with_state)


def resolve_sync(
    connection: sqlite3.Connection, ref: SessionRef, *, with_state: bool = False
) -> tuple[int, Session]:
    """resolve() on the writer's own connection, in the writer thread."""
    key = as_key(ref)
    where, parameters = key_conditions(key)
    rows = connection.execute(
        f"{select_sessions(with_state=with_state)} WHERE {where} {ONE_SESSION_ROWS}",
        parameters,
    ).fetchall()
    return one_session(key, rows, with_state=with_state)


def select_sessions(*, with_state: bool, state_joins: str = STATE_JOINS) -> str:
    """SELECT of SESSION_COLUMNS from `sessions s`, and STATE_COLUMNS via `state_joins` if `with_state`."""
    columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
    joins = state_joins if with_state else ""
    return f"SELECT {columns} FROM sessions s {joins}"  # noqa: S608 - fixed fragments


def sessions_page_sql(
    session_filter: SessionFilter,
    before: tuple[datetime, str] | None,
    order: SessionOrder,
    *,
    with_state: bool,
    state_joins: str = STATE_JOINS,
) -> tuple[str, list[Any]]:
    """ListSessions' query without its LIMIT: newest first by `order`, after the (time, session_id) cursor."""
    column = "s.update_time" if order is SessionOrder.UPDATE_TIME_DESC else "s.create_time"
    conditions, parameters = filter_conditions(session_filter)
    if before is not None:
        conditions.append(f"({column}, s.session_id) < (?, ?)")
        parameters += [to_micros(before[0]), before[1]]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    select = select_sessions(with_state=with_state, state_joins=state_joins)
    return f"{select} {where} ORDER BY {column} DESC, s.session_id DESC", parameters


def one_session(key: SessionKey, rows: Sequence[Any], *, with_state: bool) -> tuple[int, Session]:
    """(sid, session) of the only row; raises NotFoundError for none, InvalidStateError for several."""
    if not rows:
        raise not_found(key.session_id)
    if len(rows) > 1 and not (rows[0][1] == DEFAULT_APP != rows[1][1]):
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


def require_revision(session: Session, expected_revision: int) -> None:
    """Raises EtagMismatchError when `expected_revision` (if not 0) is not the session's revision."""
    if expected_revision and expected_revision != session.revision:
        raise EtagMismatchError(
            f"session {session.session_id} is at revision {session.revision}, not "
            f"{expected_revision}: it changed since it was read; read it again and retry"
        )


def already_exists(user_id: str, session_id: str, app_name: str) -> AlreadyExistsError:
    """The error of a session id the user already has in the app."""
    return AlreadyExistsError(
        f"user {user_id!r} already has a session {session_id!r} in app {app_name!r}; "
        "choose another id or leave it empty"
    )


def not_found(session_id: str) -> NotFoundError:
    """The error of a session that does not exist (or that the caller may not see)."""
    return NotFoundError(f"no session has id {session_id!r}; ListSessions shows a user's sessions")
