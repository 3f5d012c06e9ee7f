"""Start-up recovery of the embedded registry: the last good snapshot, then the journal replayed over it."""

from __future__ import annotations

import logging
import os
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry_server.registry.document import DocumentError, encode_record, etag_of, parse_record
from registry_server.registry.file_store import FileStore, LoadSource, sync_directory
from registry_server.registry.journal import JournalEntry, scan_segment, segments_in
from registry_server.registry.store import ChangeKind, ChangeRecord, RejectedRecord, StoredAgent

log = logging.getLogger(__name__)


@dataclass
class RecoveredRegistry:
    """The registry as recovered: agents, revision, recent history, and what had to be set aside."""

    agents: dict[str, StoredAgent]
    revision: int
    snapshot_revision: int
    source: LoadSource
    history: deque[ChangeRecord]
    rejected: list[RejectedRecord] = field(default_factory=list)
    replayed: int = 0
    damaged: bool = False


def recover(snapshots: FileStore, directory: Path, history_limit: int) -> RecoveredRegistry:
    """Loads the snapshot (primary, backup or defaults) and replays every later journal record over it."""
    snapshot = snapshots.load()
    state = RecoveredRegistry(
        agents={agent.spec.name: agent for agent in snapshot.agents},
        revision=snapshot.revision,
        snapshot_revision=snapshot.revision,
        source=snapshot.source,
        history=deque(maxlen=history_limit),
        rejected=list(snapshot.rejected),
    )
    segments = segments_in(directory)
    for index, (_, path) in enumerate(segments):
        for entry in _read_segment(path, is_last=index == len(segments) - 1, state=state):
            _replay_entry(entry, path.name, state)
    return state


def _read_segment(path: Path, is_last: bool, state: RecoveredRegistry) -> list[JournalEntry]:
    content = path.read_bytes()
    scan = scan_segment(content)
    if not scan.damaged:
        return scan.entries
    state.damaged = True
    dropped = len(content) - scan.valid_bytes
    if is_last and not scan.valid_after_damage:
        log.warning(
            "dropped a torn record at the end of %s (%d bytes): it was never acknowledged",
            path.name,
            dropped,
        )
    else:
        kept = path.with_name(path.name + ".corrupt")
        shutil.copyfile(path, kept)
        log.error(
            "%s is damaged after %d good records (%d bytes from offset %d); kept a copy as %s and "
            "replayed the records before the damage",
            path.name,
            len(scan.entries),
            dropped,
            scan.valid_bytes,
            kept.name,
        )
    with open(path, "rb+") as handle:
        handle.truncate(scan.valid_bytes)
        os.fsync(handle.fileno())
    sync_directory(path.parent)
    return scan.entries


def _replay_entry(entry: JournalEntry, origin: str, state: RecoveredRegistry) -> None:
    last = entry.revision + len(entry.mutations) - 1
    if entry.revision > state.revision + 1:
        log.error(
            "the registry journal has no record of revisions %d to %d; continuing from %d",
            state.revision + 1,
            entry.revision - 1,
            entry.revision,
        )
    for offset, operation in enumerate(entry.mutations):
        record = _record_of(entry, entry.revision + offset, operation, origin, state)
        state.history.append(record)
        if record.revision > state.revision:
            _apply(record, state)
    if last > state.revision:
        state.revision = last
        state.replayed += 1


def _record_of(
    entry: JournalEntry, revision: int, operation: dict[str, Any], origin: str, state: RecoveredRegistry
) -> ChangeRecord:
    """Decodes one mutation; a PUT whose agent no longer validates becomes a rejected record and a DELETE."""
    request = (entry.request_id, entry.request_fingerprint)
    raw = operation.get("record") if isinstance(operation, dict) else None
    name = str(raw.get("name", "")) if isinstance(raw, dict) else str(operation.get("name", ""))
    if operation.get("op") == "DELETE":
        return ChangeRecord(revision, ChangeKind.DELETE, name, None, *request)
    kept = state.agents.get(name)
    if kept is not None and kept.revision == revision:  # the snapshot holds this very version
        return ChangeRecord(revision, ChangeKind.PUT, name, kept, *request)
    try:
        spec, _ = parse_record(name, raw)
    except DocumentError as exc:
        if revision > state.revision:
            state.rejected.append(RejectedRecord(name, str(exc), raw, f"{origin} revision {revision}"))
        return ChangeRecord(revision, ChangeKind.DELETE, name, None, *request)
    etag = operation.get("etag")
    agent = StoredAgent(
        spec, etag if isinstance(etag, str) and etag else etag_of(encode_record(spec)), revision
    )
    return ChangeRecord(revision, ChangeKind.PUT, name, agent, *request)


def _apply(record: ChangeRecord, state: RecoveredRegistry) -> None:
    if record.agent is None:
        state.agents.pop(record.name, None)
    else:
        state.agents[record.name] = record.agent
