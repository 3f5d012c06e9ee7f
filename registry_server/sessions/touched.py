"""Which sessions a transaction changed, and their counters after it: a temporary table filled by a
temporary trigger on the writer connection (neither touches the database file)."""

from __future__ import annotations

import sqlite3

from registry_server.sessions.high_water import Marks

TRACK_TOUCHED_SQL = """
CREATE TEMP TABLE IF NOT EXISTS touched (
    sid INTEGER PRIMARY KEY, events INTEGER, history INTEGER, invocations INTEGER, revision INTEGER
);
CREATE TEMP TRIGGER IF NOT EXISTS touched_on_update AFTER UPDATE ON main.sessions BEGIN
    INSERT OR REPLACE INTO touched
    VALUES (NEW.sid, NEW.event_count, NEW.history_count, NEW.invocation_count, NEW.revision);
END;
"""


def track_touched(connection: sqlite3.Connection) -> None:
    """Installs the temporary table and trigger on the writer connection."""
    connection.executescript(TRACK_TOUCHED_SQL)


def take_touched(connection: sqlite3.Connection) -> list[tuple[int, Marks]]:
    """The sessions changed so far in the open transaction, with their counters; empties the table."""
    rows = connection.execute("SELECT sid, events, history, invocations, revision FROM touched").fetchall()
    if rows:
        connection.execute("DELETE FROM touched")
    return [(int(row[0]), Marks(int(row[1]), int(row[2]), int(row[3]), int(row[4]))) for row in rows]
