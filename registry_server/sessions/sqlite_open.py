"""Opening sessions.db: a file is set aside only when its header or PRAGMA quick_check fails."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
# The error codes that mean "the file's content is damaged", as opposed to a disk, permission or lock problem.
DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


class SessionStoreOpenError(Exception):
    """sessions.db could not be opened for a reason other than damage; the file was left in place."""


def looks_like_sqlite(path: Path) -> bool:
    """True for a missing or empty file (a new database) or one that starts with SQLite's header."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return True
    return head in (b"", SQLITE_HEADER)


def is_damage(error: BaseException) -> bool:
    """True when SQLite reports the database file itself as damaged."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    return isinstance(error, sqlite3.DatabaseError) and any(name.startswith(code) for code in DAMAGE_CODES)


async def passes_quick_check(path: Path) -> bool:
    """Runs PRAGMA quick_check on its own connection; False when it finds damage or cannot read the file."""
    try:
        async with aiosqlite.connect(path) as connection:
            rows = list(await connection.execute_fetchall("PRAGMA quick_check"))
    except sqlite3.DatabaseError as error:
        if is_damage(error):
            return False
        raise
    return [tuple(row) for row in rows] == [("ok",)]


def set_aside(path: Path) -> Path:
    """Renames a corrupt database and its WAL files to `<name>.corrupt-<UTC time>`; returns the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm", ".marks"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, kept.with_name(kept.name + suffix))
    return kept


def open_failure(path: Path, error: BaseException) -> SessionStoreOpenError:
    """The start-up error of a database that could not be opened but is not damaged."""
    return SessionStoreOpenError(
        f"cannot open {path} ({error}); the file was left as it is. Check free space, permissions and "
        "the disk, then start again"
    )
