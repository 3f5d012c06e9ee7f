"""At open: compares the sessions' counters with their durable high-water marks (see high_water.py)."""

from __future__ import annotations

import asyncio
import logging

import aiosqlite

from registry_server.sessions.high_water import HighWaterMarks, Marks, lost_writes

log = logging.getLogger(__name__)

MAX_SESSIONS_LOGGED = 20


async def check_high_water_marks(connection: aiosqlite.Connection, marks: HighWaterMarks) -> None:
    """Reports sessions that lost acknowledged writes, raises their counters to the marks (so no seq is
    handed out twice), and compacts the marks file."""
    recorded = await asyncio.to_thread(marks.load)
    if not recorded:
        return
    rows = await connection.execute_fetchall(
        "SELECT sid, event_count, history_count, invocation_count, revision FROM sessions"
    )
    stored = {int(row[0]): Marks(int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows}
    lost = lost_writes(stored, recorded)
    if lost:
        await _report(connection, lost)
        await _raise_counters(connection, {sid: mark for sid, (_, mark) in lost.items()})
    current = {sid: stored[sid].highest(mark) for sid, mark in recorded.items() if sid in stored}
    await asyncio.to_thread(marks.rewrite, current)


async def _report(connection: aiosqlite.Connection, lost: dict[int, tuple[Marks, Marks]]) -> None:
    log.error(
        "sessions.db LOST ACKNOWLEDGED WRITES of %d sessions: its WAL was damaged and SQLite dropped the "
        "commits after the damage. Their seqs continue after the acknowledged ones (nothing is reused); "
        "restore the lost data from a backup if you have one",
        len(lost),
    )
    for sid, (have, mark) in list(lost.items())[:MAX_SESSIONS_LOGGED]:
        names = list(
            await connection.execute_fetchall(
                "SELECT app_name, user_id, session_id FROM sessions WHERE sid = ?", (sid,)
            )
        )
        app_name, user_id, session_id = names[0] if names else ("?", "?", "?")
        log.error(
            "session %r (app %r, user %r): stored events/history/invocations %d/%d/%d, acknowledged %d/%d/%d",
            session_id,
            app_name,
            user_id,
            have.events,
            have.history,
            have.invocations,
            mark.events,
            mark.history,
            mark.invocations,
        )


async def _raise_counters(connection: aiosqlite.Connection, marks: dict[int, Marks]) -> None:
    await connection.execute("BEGIN IMMEDIATE")
    try:
        for sid, mark in marks.items():
            await connection.execute(
                "UPDATE sessions SET event_count = max(event_count, ?), "
                "history_count = max(history_count, ?), invocation_count = max(invocation_count, ?), "
                "revision = max(revision, ?) WHERE sid = ?",
                (mark.events, mark.history, mark.invocations, mark.revision, sid),
            )
        await connection.execute("COMMIT")
    except BaseException:
        await connection.execute("ROLLBACK")
        raise
