"""Storage failures: a full disk while running is UNAVAILABLE with nothing half written, and recovers; an
open that fails for any reason but damage stops start-up and leaves the healthy file in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent_registry_client import SessionClient
from agent_registry_client.errors import Unavailable
from agent_registry_client.session_models import SessionEvent
from registry_server.server import RegistryServer
from registry_server.sessions.sqlite_open import SessionStoreOpenError
from registry_server.sessions.sqlite_store import SqliteSessionStore


async def set_max_pages(server: RegistryServer, extra_pages: int | None) -> None:
    """Caps the database at its current size plus `extra_pages` (None lifts the cap): a full disk."""
    assert isinstance(server.sessions, SqliteSessionStore)
    connection = server.sessions._writer_connection  # max_page_count is a setting of the writer's connection
    assert connection is not None
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    limit = 2**31 - 2 if extra_pages is None else int(pages) + extra_pages
    connection.execute(f"PRAGMA max_page_count = {limit}")


async def test_a_full_disk_is_unavailable_writes_nothing_and_recovers(
    server: RegistryServer, sessions: SessionClient
) -> None:
    await sessions.create_session("alice", app_name="a", session_id="s", state={"count": 0})
    big = SessionEvent(event_id="e1", timestamp=1.0, content={"parts": [{"text": "x" * 200_000}]},
                       state_delta={"count": 1, "user:seen": True})  # fmt: skip
    await set_max_pages(server, 0)
    with pytest.raises(Unavailable, match="storage full"):
        await sessions.append_event("s", big, app_name="a", user_id="alice", request_id="full-1")
    unchanged = await sessions.get_session_events("s", app_name="a", user_id="alice")
    assert (unchanged.event_count, unchanged.revision, unchanged.state) == (0, 1, {"count": 0})
    assert await sessions.get_user_state("alice", app_name="a") == {}
    await set_max_pages(server, None)
    appended = await sessions.append_event("s", big, app_name="a", user_id="alice", request_id="full-1")
    assert appended.revision == 2
    stored = await sessions.get_session_events("s", app_name="a", user_id="alice")
    assert stored.state == {"count": 1, "user:seen": True} and len(stored.events) == 1


async def test_an_io_error_at_open_keeps_the_healthy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sessions.db"
    store = await SqliteSessionStore(path).open()
    await store.create_session("alice", {}, session_id="keep-me")
    await store.close()
    before = path.read_bytes()

    async def failing_open(self: SqliteSessionStore) -> None:
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorname = "SQLITE_IOERR"
        raise error

    monkeypatch.setattr(SqliteSessionStore, "_open_writer", failing_open)
    with pytest.raises(SessionStoreOpenError, match="left as it is"):
        await SqliteSessionStore(path).open()
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name) == []
    assert path.read_bytes() == before
    reopened = await SqliteSessionStore(path).open()
    try:
        assert (await reopened.get_session("keep-me")).user_id == "alice"
    finally:
        await reopened.close()


async def test_a_damaged_file_is_still_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = await SqliteSessionStore(path).open()
    await store.create_session("alice", {})
    await store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page, past the header
    path.write_bytes(bytes(data))
    reopened = await SqliteSessionStore(path).open()
    await reopened.close()
    assert any(p.name.startswith("sessions.db.corrupt-") for p in tmp_path.iterdir())
