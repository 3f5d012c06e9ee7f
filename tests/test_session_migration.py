"""Forward migration: a sessions.db written by schema version 1 opens with its data under app "default"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from registry_server.domain.session import DEFAULT_APP, SessionKey
from registry_server.sessions.schema import MIGRATIONS, SCHEMA_VERSION
from registry_server.sessions.sqlite_store import SqliteSessionStore


def make_version_1_database(path: Path) -> None:
    """A database as the version-1 server wrote it: its schema, and rows as it inserted them."""
    with sqlite3.connect(path) as connection:
        connection.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
        connection.execute(
            "INSERT INTO sessions (session_id, user_id, status, metadata, create_time, update_time, "
            "last_agent_called, last_query, last_response, history_count, invocation_count) "
            "VALUES ('abc', 'alice', 'ACTIVE', '{\"channel\": \"web\"}', 1000, 2000, 'tickets_agent', "
            "'show my tickets', '3 tickets', 2, 1)"
        )
        connection.executemany(
            "INSERT INTO history VALUES ('abc', ?, ?, ?, ?, ?)",
            [(1, "USER", "show my tickets", "", 1500), (2, "ASSISTANT", "3 tickets", "tickets_agent", 1600)],
        )
        connection.execute(
            "INSERT INTO invocations VALUES ('abc', 1, 'tickets_agent', 'show my tickets', '3 tickets', 1, "
            "12, '', 1550)"
        )


async def test_a_version_1_database_migrates_forward(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    make_version_1_database(path)
    store = await SqliteSessionStore(path).open()
    try:
        session = await store.get_session(SessionKey("abc", DEFAULT_APP, "alice"), with_state=True)
        assert (session.app_name, session.user_id, session.metadata) == (
            DEFAULT_APP,
            "alice",
            {"channel": "web"},
        )
        assert (session.history_count, session.invocation_count, session.event_count) == (2, 1, 0)
        assert session.last_agent_called == "tickets_agent" and session.state == {}
        history = await store.list_history("abc", 0, 10)
        assert [(e.seq, e.content) for e in history] == [(1, "show my tickets"), (2, "3 tickets")]
        assert [i.duration_ms for i in await store.list_invocations("abc", 0, 10)] == [12]
        entry = await store.append_history("abc", history[0].role, "and courses?", "")
        assert entry.seq == 3
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
