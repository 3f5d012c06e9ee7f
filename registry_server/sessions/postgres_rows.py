"""SQL fragments of the PostgreSQL session store and the lookup of the session a reference names."""

from __future__ import annotations

import re
from typing import Any

from registry_server.domain.errors import InvalidStateError
from registry_server.domain.session import Session, SessionRef
from registry_server.sessions.sqlite_rows import SESSION_COLUMNS, as_key, not_found, session_from_row

STATE_COLUMNS = "ss.state, us.state, a.state"
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
    conditions, parameters = ["s.session_id = ?"], [key.session_id]
    for column, value in (("s.app_name", key.app_name), ("s.user_id", key.user_id)):
        if value:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    columns = f"{SESSION_COLUMNS}, {STATE_COLUMNS}" if with_state else SESSION_COLUMNS
    joins = STATE_JOINS if with_state else ""
    sql = numbered(
        f"SELECT {columns} FROM sessions s {joins} WHERE {' AND '.join(conditions)} LIMIT 2"  # noqa: S608
        + (" FOR UPDATE OF s" if lock else "")
    )
    rows = await connection.fetch(sql, *parameters)
    if not rows:
        raise not_found(key.session_id)
    if len(rows) > 1:
        raise InvalidStateError(
            f"several sessions have id {key.session_id!r}; give app_name and user_id to name one"
        )
    return int(rows[0][0]), session_from_row(rows[0], with_state=with_state)
