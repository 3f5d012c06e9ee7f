"""The registry journal's on-disk format: segment files of checksummed lines, one line per committed change.

A line is `<crc32 of the JSON, 8 hex digits> <JSON>\\n`. The JSON holds the revision of the change's first
record, the request id and fingerprint, and the mutations (PUT with the agent record, or DELETE). A segment
is named after the first revision it holds, so the files sort in revision order.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEGMENT_PATTERN = re.compile(r"^registry_journal\.(\d{20})\.log$")


def segment_name(first_revision: int) -> str:
    """The file name of the segment whose first record has `first_revision`."""
    return f"registry_journal.{first_revision:020d}.log"


def segments_in(directory: Path) -> list[tuple[int, Path]]:
    """The journal segments in `directory` as (first revision, path), in revision order."""
    found = []
    for path in directory.iterdir() if directory.exists() else ():
        match = SEGMENT_PATTERN.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


@dataclass(frozen=True)
class JournalEntry:
    """One decoded line: the first revision, request id and fingerprint, and the raw mutations."""

    revision: int
    request_id: str
    request_fingerprint: str
    mutations: list[dict[str, Any]]


def encode_entry(
    revision: int, request_id: str, fingerprint: str, mutations: Iterable[dict[str, Any]]
) -> bytes:
    """One checksummed journal line."""
    body = json.dumps(
        {"rev": revision, "req": request_id, "fp": fingerprint, "ops": list(mutations)},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def put_operation(spec_record: dict[str, Any], etag: str) -> dict[str, Any]:
    """The journal form of a PUT: the agent's record and its etag."""
    return {"op": "PUT", "record": spec_record, "etag": etag}


def delete_operation(name: str) -> dict[str, Any]:
    """The journal form of a DELETE."""
    return {"op": "DELETE", "name": name}


@dataclass
class SegmentScan:
    """The valid entries of a segment, where they end, and whether damage was found after them."""

    entries: list[JournalEntry]
    valid_bytes: int
    damaged: bool
    valid_after_damage: bool


def scan_segment(content: bytes) -> SegmentScan:
    """Decodes lines until the first damaged one (bad checksum, bad JSON, or no final newline)."""
    entries: list[JournalEntry] = []
    offset = 0
    while offset < len(content):
        end = content.find(b"\n", offset)
        entry = _decode_line(content[offset:end]) if end >= 0 else None
        if entry is None:
            rest = content[end + 1 :] if end >= 0 else b""
            later_valid = any(_decode_line(line) is not None for line in rest.split(b"\n"))
            return SegmentScan(entries, offset, True, later_valid)
        entries.append(entry)
        offset = end + 1
    return SegmentScan(entries, offset, False, False)


def _decode_line(line: bytes) -> JournalEntry | None:
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        decoded = json.loads(body)
        return JournalEntry(
            int(decoded["rev"]), str(decoded["req"]), str(decoded["fp"]), list(decoded["ops"])
        )
    except (ValueError, KeyError, TypeError):
        return None


def write_all(descriptor: int, data: bytes) -> None:
    """Writes every byte of `data`, however many calls it takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


class SegmentWriter:
    """The open segment: appends whole batches of lines and fsyncs them; a failed append leaves no trace."""

    def __init__(self, path: Path, first_revision: int) -> None:
        self.path = path
        self.first_revision = first_revision
        self.records = 0
        self._descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self._descriptor).st_size
        self.broken = False

    def append(self, data: bytes, records: int) -> None:
        """Appends `data` durably; on an error truncates back to the last durable end and re-raises.

        If even the truncation fails the segment is `broken`: what it ends with is unknown, so nothing may
        be appended after it (a restart recovers it).
        """
        try:
            write_all(self._descriptor, data)
            os.fsync(self._descriptor)
        except OSError:
            try:
                os.ftruncate(self._descriptor, self.size)
                os.fsync(self._descriptor)
            except OSError:
                self.broken = True
            raise
        self.size += len(data)
        self.records += records

    def close(self) -> None:
        """Closes the file; everything appended is already durable."""
        os.close(self._descriptor)
