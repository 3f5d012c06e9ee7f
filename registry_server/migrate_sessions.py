"""The session store's migration step: an embedded `sessions.db` copied table by table into PostgreSQL.

Rows keep their session ids, internal keys, seqs, revisions and counters, so seqs continue without a gap or a
reuse, and a retried request id still finds its first result. The SQLite file is opened read-only and never
migrated forward here: a file written by an older server must be opened once by this version first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from registry_server.sessions.high_water import MARKS_SUFFIX, HighWaterMarks, Marks
from registry_server.sessions.postgres_schema import SchemaTooNewError
from registry_server.sessions.postgres_schema import migrate as migrate_postgres_schema
from registry_server.sessions.schema import MIGRATIONS as SQLITE_MIGRATIONS
from registry_server.sessions.sqlite_store import SESSIONS_FILE_NAME

BATCH_ROWS = 2000

# (SQLite table, PostgreSQL table, columns), parents before children.
TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "sessions",
        "sessions",
        (
            "sid",
            "app_name",
            "user_id",
            "session_id",
            "status",
            "metadata",
            "create_time",
            "update_time",
            "last_agent_called",
            "last_query",
            "last_response",
            "history_count",
            "invocation_count",
            "event_count",
            "revision",
        ),
    ),
    ("history", "session_history", ("sid", "seq", "role", "content", "agent_name", "create_time")),
    (
        "invocations",
        "session_invocations",
        ("sid", "seq", "agent_name", "query", "response", "success", "duration_ms", "error", "create_time"),
    ),
    ("events", "session_events", ("sid", "seq", "timestamp", "body")),
    ("session_state", "session_state", ("sid", "state")),
    ("user_state", "session_user_state", ("app_name", "user_id", "state")),
    ("app_state", "session_app_state", ("app_name", "state")),
    ("request_log", "session_request_log", ("request_id", "fingerprint", "result", "create_time")),
)


class SessionMigrationError(Exception):
    """The session store cannot be copied as it is; the message says why and what to do."""


async def migrate_sessions(data_dir: Path, database_url: str) -> str:
    """Copies every session with its state, events, history, invocations and request ids; says what it did."""
    path = data_dir / SESSIONS_FILE_NAME
    if not path.exists():
        return f"sessions: no {SESSIONS_FILE_NAME} in {data_dir}, nothing to copy"
    marks = HighWaterMarks(path.with_name(path.name + MARKS_SUFFIX)).load()
    async with aiosqlite.connect(_read_only_uri(path), uri=True) as source:
        await _require_current_schema(source, path)
        target = await asyncpg.connect(database_url)
        try:
            await _create_schema(target)
            async with target.transaction():
                await _require_empty(target)
                counts = [await _copy_table(source, target, table) for table in TABLES]
                await _raise_counters_to_marks(target, marks)
                await target.execute(
                    "SELECT setval(pg_get_serial_sequence('sessions', 'sid'), "
                    "coalesce((SELECT max(sid) FROM sessions), 0) + 1, false)"
                )
        finally:
            await target.close()
    sessions, history, invocations, events = counts[:4]
    return (
        f"sessions: {sessions} sessions copied, with {events} events, {history} history entries, "
        f"{invocations} invocations, their state and {counts[-1]} request ids"
    )


def _read_only_uri(path: Path) -> str:
    """A read-only URI; with no WAL left (a clean stop) also immutable, so SQLite makes no -wal or -shm.

    Immutable is safe only because the data dir is locked, so no server writes the file meanwhile.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri if path.with_name(path.name + "-wal").exists() else uri + "&immutable=1"


async def _create_schema(target: Any) -> None:
    try:
        await migrate_postgres_schema(target)
    except SchemaTooNewError as error:
        raise SessionMigrationError(f"{error}; nothing was copied") from None


async def _require_current_schema(source: aiosqlite.Connection, path: Path) -> None:
    async with source.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version != len(SQLITE_MIGRATIONS):
        raise SessionMigrationError(
            f"{path} has session schema version {version}, this server writes {len(SQLITE_MIGRATIONS)}: "
            "start this version of the server on the data dir once (it upgrades the file), stop it, "
            "then migrate; nothing was copied"
        )


async def _require_empty(target: Any) -> None:
    """Refuses a database that already holds sessions, state or request ids, so nothing is merged or lost."""
    tables = [postgres for _, postgres, _ in TABLES]
    held = [table for table in tables if await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})")]  # noqa: S608 (names from TABLES)
    if held:
        raise SessionMigrationError(
            f"the database already holds sessions data (tables {', '.join(held)}); nothing was copied"
        )


async def _copy_table(
    source: aiosqlite.Connection, target: Any, table: tuple[str, str, tuple[str, ...]]
) -> int:
    """Streams one table across in batches with COPY; returns its row count."""
    sqlite_table, postgres_table, columns = table
    copied = 0
    query = f"SELECT {', '.join(columns)} FROM {sqlite_table}"  # noqa: S608 (names from TABLES)
    async for rows in _batches(source, query):
        await target.copy_records_to_table(postgres_table, records=rows, columns=list(columns))
        copied += len(rows)
    return copied


async def _batches(source: aiosqlite.Connection, query: str) -> AsyncIterator[Sequence[Any]]:
    async with source.execute(query) as cursor:
        while rows := await cursor.fetchmany(BATCH_ROWS):
            yield [tuple(row) for row in rows]


async def _raise_counters_to_marks(target: Any, marks: dict[int, Marks]) -> None:
    """Counters below their durable high-water marks lost writes in a damaged WAL: never reuse their seqs."""
    await target.executemany(
        "UPDATE sessions SET event_count = greatest(event_count, $2),"
        " history_count = greatest(history_count, $3), invocation_count = greatest(invocation_count, $4),"
        " revision = greatest(revision, $5) WHERE sid = $1",
        [(sid, m.events, m.history, m.invocations, m.revision) for sid, m in marks.items()],
    )
