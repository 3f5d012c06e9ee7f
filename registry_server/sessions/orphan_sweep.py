"""The statement that deletes agents' ADK sessions whose routed session is gone, for either SQL dialect."""

from __future__ import annotations

from registry_server.domain.session import DEFAULT_APP, KEPT_FOR_ROUTED_SESSION

SQLITE_MARK = f"json_extract(s.metadata, '$.{KEPT_FOR_ROUTED_SESSION[0]}')"
POSTGRES_MARK = f"(s.metadata::jsonb ->> '{KEPT_FOR_ROUTED_SESSION[0]}')"


def orphaned_agent_sessions_sql(mark: str) -> str:
    """DELETE of up to `?` marked agent sessions with no routed session of their user and id; `mark` is the
    dialect's expression of the metadata entry's value."""
    # Fixed fragments only: nothing here comes from a request.
    return (
        "DELETE FROM sessions WHERE sid IN (SELECT s.sid FROM sessions s "  # noqa: S608
        f"WHERE s.app_name <> '{DEFAULT_APP}' AND {mark} = '{KEPT_FOR_ROUTED_SESSION[1]}' "
        "AND NOT EXISTS (SELECT 1 FROM sessions d "
        f"WHERE d.app_name = '{DEFAULT_APP}' AND d.user_id = s.user_id AND d.session_id = s.session_id) "
        "LIMIT ?)"
    )
