"""SQL fragments of the PostgreSQL session store and the lookup of the session a reference names."""

from __future__ import annotations

import re
from typing import Any

from registry_server.domain.session import Session, SessionRef
from registry_server.sessions.sqlite_rows import (
    ONE_SESSION_ROWS,
    as_key,
    key_conditions,
    one_session,
    select_sessions,
)

STATE_JOINS = (
    "LEFT JOIN session_state ss ON ss.sid = s.sid "
    "LEFT JOIN session_user_state us ON us.app_name = s.app_name AND us.user_id = s.user_id "
    "LEFT JOIN session_app_state a ON a.app_name = s.app_name"
)


def numbered(sql: str, start: int = 1) -> str:
    """SQL with its `?` placeholders numbered as PostgreSQL's $1, $2, ... from `start`."""
    counter = iter(range(start, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


async def resolve(
    connection: Any, ref: SessionRef, *, with_state: bool = False, lock: bool = False
) -> tuple[int, Session]:
    """(sid, session) of the one session the reference names; `lock` holds its row to the end of the
    transaction, so concurrent writers of one session (on any instance) take turns."""
    key = as_key(ref)
    where, parameters = key_conditions(key)
    select = select_sessions(with_state=with_state, state_joins=STATE_JOINS)
    sql = numbered(f"{select} WHERE {where} {ONE_SESSION_ROWS}" + (" FOR UPDATE OF s" if lock else ""))
    rows = await connection.fetch(sql, *parameters)
    return one_session(key, rows, with_state=with_state)
