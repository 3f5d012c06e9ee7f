"""A damaged WAL: SQLite drops the commits after the damage; the store notices at open from its durable
high-water marks, says so loudly, and never hands out a lost seq again."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from registry_server.domain.session import Event, EventFilter, Role, SessionKey
from registry_server.sessions.sqlite_store import SqliteSessionStore

WAL_HEADER = 32
FRAME_HEADER = 24


def damage_frame(wal: Path, frame: int, page_size: int) -> None:
    """Flips bytes inside one WAL frame's page, breaking the checksum chain from there on."""
    data = bytearray(wal.read_bytes())
    offset = WAL_HEADER + frame * (FRAME_HEADER + page_size) + FRAME_HEADER + 200
    data[offset : offset + 16] = bytes(byte ^ 0xFF for byte in data[offset : offset + 16])
    wal.write_bytes(bytes(data))


async def test_writes_lost_to_a_damaged_wal_are_reported_and_seqs_not_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    store = await SqliteSessionStore(live / "sessions.db").open()
    session = await store.create_session("alice", {}, app_name="a", session_id="s")
    key = SessionKey("s", "a", "alice")
    for number in range(1, 11):
        await store.append_event(key, Event(f"e{number}", author="agent", timestamp=float(number)))
        await store.append_history(key, Role.USER, f"m{number}", "")
    # What a crash leaves: the database, its WAL (not yet checkpointed) and the marks, as they are now.
    shutil.copytree(live, copy)
    await store.close()
    wal = copy / "sessions.db-wal"
    frames = (wal.stat().st_size - WAL_HEADER) // (FRAME_HEADER + 4096)
    assert frames > 10, "the writes must still be in the WAL for this test to mean anything"
    damage_frame(wal, frames // 2, 4096)

    with caplog.at_level(logging.ERROR):
        reopened = await SqliteSessionStore(copy / "sessions.db").open()
    try:
        assert "LOST ACKNOWLEDGED WRITES of 1 sessions" in caplog.text
        assert "session 's' (app 'a', user 'alice')" in caplog.text
        survived, page = await reopened.read_session(key, EventFilter(), 1, 100)
        assert survived.event_count == 10 and len(page.events) < 10
        appended = await reopened.append_event(key, Event("e11", author="agent", timestamp=11.0))
        entry = await reopened.append_history(key, Role.USER, "m11", "")
        assert (appended.event.seq, entry.seq) == (11, 11), "a seq acknowledged before is never reused"
        assert appended.revision > session.revision + 10
    finally:
        await reopened.close()
