"""Durable per-session high-water marks, kept beside sessions.db to catch a damaged WAL.

SQLite stops replaying its WAL at the first frame whose checksum fails, silently dropping every later
commit. Each commit therefore also appends, and fsyncs, the counters it left on the sessions it touched;
at open a session whose stored counters are below its marks has lost acknowledged writes. That is
reported loudly, and its counters are raised to the marks so no seq is ever handed out twice.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MARKS_SUFFIX = ".marks"
_RECORD = struct.Struct("<qqqqq")  # sid, event_count, history_count, invocation_count, revision
_CHECKSUM = struct.Struct("<I")
RECORD_SIZE = _RECORD.size + _CHECKSUM.size


@dataclass(frozen=True)
class Marks:
    """The counters one session had after an acknowledged commit."""

    events: int
    history: int
    invocations: int
    revision: int

    def covers(self, other: Marks) -> bool:
        """True when every counter here is at least the other's."""
        return (
            self.events >= other.events
            and self.history >= other.history
            and self.invocations >= other.invocations
            and self.revision >= other.revision
        )

    def highest(self, other: Marks) -> Marks:
        """The counter-wise maximum of two marks."""
        return Marks(
            max(self.events, other.events),
            max(self.history, other.history),
            max(self.invocations, other.invocations),
            max(self.revision, other.revision),
        )


class HighWaterMarks:
    """An append-only file of (sid, counters) records, each with a CRC; a torn last record is ignored.

    The file stays open for appends between commits; close() releases it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def load(self) -> dict[int, Marks]:
        """The highest marks recorded per session."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        marks: dict[int, Marks] = {}
        for offset in range(0, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
            body = data[offset : offset + _RECORD.size]
            (checksum,) = _CHECKSUM.unpack_from(data, offset + _RECORD.size)
            if zlib.crc32(body) != checksum:
                break  # a torn write: that commit was never acknowledged
            sid, *counters = _RECORD.unpack(body)
            mark = Marks(*counters)
            marks[sid] = marks[sid].highest(mark) if sid in marks else mark
        return marks

    def write(self, marks: Iterable[tuple[int, Marks]]) -> bool:
        """Appends records without waiting for the disk (they survive a crash of the process, not yet of
        the machine); returns whether there was anything to append. sync() makes them durable."""
        payload = b"".join(_encode(sid, mark) for sid, mark in marks)
        if not payload:
            return False
        if self._descriptor is None:
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._descriptor, payload)
        return True

    def sync(self) -> None:
        """Waits until every record written so far is on disk."""
        if self._descriptor is not None:
            os.fsync(self._descriptor)

    def append(self, marks: Iterable[tuple[int, Marks]]) -> None:
        """Appends records and makes them durable."""
        if self.write(marks):
            self.sync()

    def close(self) -> None:
        """Releases the file (a later write opens it again)."""
        if self._descriptor is not None:
            descriptor, self._descriptor = self._descriptor, None
            os.close(descriptor)

    def rewrite(self, marks: dict[int, Marks]) -> None:
        """Replaces the file by one record per session (temp file, fsync, rename, fsync of the dir)."""
        self.close()
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("wb") as handle:
            handle.write(b"".join(_encode(sid, mark) for sid, mark in marks.items()))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _encode(sid: int, mark: Marks) -> bytes:
    body = _RECORD.pack(sid, mark.events, mark.history, mark.invocations, mark.revision)
    return body + _CHECKSUM.pack(zlib.crc32(body))


def lost_writes(stored: dict[int, Marks], recorded: dict[int, Marks]) -> dict[int, tuple[Marks, Marks]]:
    """Sessions whose stored counters are below their recorded marks: sid -> (stored, recorded)."""
    return {
        sid: (stored[sid], mark)
        for sid, mark in recorded.items()
        if sid in stored and not stored[sid].covers(mark)
    }
