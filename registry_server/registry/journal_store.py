"""The embedded RegistryStore: an fsync'd, group-committed journal, compacted into registry_config.json."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from registry_server.domain.agent import AgentSpec
from registry_server.domain.errors import RevisionCompactedError, StorageUnavailableError
from registry_server.registry.document import render_snapshot, spec_to_record
from registry_server.registry.file_store import FileStore, LoadSource, sync_directory
from registry_server.registry.journal import (
    SegmentWriter,
    delete_operation,
    encode_entry,
    put_operation,
    segment_name,
    segments_in,
)
from registry_server.registry.journal_replay import RecoveredRegistry, recover
from registry_server.registry.store import (
    Change,
    ChangeKind,
    ChangeListener,
    ChangeRecord,
    DeleteAgent,
    DuplicateRequestError,
    LoadResult,
    PutAgent,
    StoreConflictError,
    StoredAgent,
)

log = logging.getLogger(__name__)

HISTORY_LIMIT = 10_000
# Journal segments older than the backup snapshot are kept while they hold one of the latest changes, so a
# restart still knows their request ids and watches can resume from them.
RETAINED_CHANGES = 1000
COMPACT_AFTER_RECORDS = 10_000
COMPACT_AFTER_BYTES = 16 * 1024 * 1024
MAX_LOGGED_REJECTS = 20


@dataclass
class _Pending:
    """A change checked and numbered, waiting for its batch's fsync."""

    line: bytes
    records: tuple[ChangeRecord, ...]
    done: asyncio.Future[int]


class JournalStore:
    """Journal segments plus a snapshot in the data dir; one process at a time (the data-dir lock)."""

    def __init__(
        self,
        data_dir: Path,
        defaults_file: Path | None,
        history_limit: int = HISTORY_LIMIT,
        compact_after_records: int = COMPACT_AFTER_RECORDS,
        compact_after_bytes: int = COMPACT_AFTER_BYTES,
    ) -> None:
        self._directory = data_dir
        self._snapshots = FileStore(data_dir, defaults_file)
        self._history_limit = history_limit
        self._compact_after_records = compact_after_records
        self._compact_after_bytes = compact_after_bytes
        self._latest: dict[str, StoredAgent] = {}
        self._durable: dict[str, StoredAgent] = {}
        self._latest_revision = self._durable_revision = self._snapshot_revision = 0
        self._history: deque[ChangeRecord] = deque(maxlen=history_limit)
        self._requests: dict[str, tuple[ChangeRecord, ...]] = {}
        self._in_flight_requests: dict[str, asyncio.Future[int]] = {}
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._segment: SegmentWriter | None = None
        self._closed = False

    @property
    def revision(self) -> int:
        """The latest durable revision."""
        return self._durable_revision

    async def load(self) -> LoadResult:
        """Recovers snapshot + journal, sets rejected records aside, and starts a fresh journal segment."""
        recovered = await asyncio.to_thread(recover, self._snapshots, self._directory, self._history_limit)
        self._latest = dict(recovered.agents)
        self._durable = dict(recovered.agents)
        self._latest_revision = self._durable_revision = recovered.revision
        self._snapshot_revision = recovered.snapshot_revision
        self._history = recovered.history
        for record in self._history:
            if record.request_id:
                known = self._requests.get(record.request_id, ())
                self._requests[record.request_id] = (*known, record)
        if recovered.rejected:
            await asyncio.to_thread(self._report_rejected, recovered)
        if recovered.source is not LoadSource.PRIMARY or recovered.rejected or recovered.damaged:
            await self._compact()
        self._segment = await asyncio.to_thread(self._open_segment, self._durable_revision + 1)
        if recovered.replayed:
            log.info("replayed %d journal records up to revision %d", recovered.replayed, recovered.revision)
        return LoadResult(
            agents=list(recovered.agents.values()),
            revision=recovered.revision,
            source=recovered.source.value,
            rejected=recovered.rejected,
            recent_changes=list(self._history),
        )

    def _report_rejected(self, recovered: RecoveredRegistry) -> None:
        path = self._snapshots.write_rejected(recovered.rejected)
        for item in recovered.rejected[:MAX_LOGGED_REJECTS]:
            log.warning(
                "rejected agent record %s from %s: %s", _shown(item.name), item.origin, _shown(item.reason)
            )
        log.error(
            "%d agent records could not be loaded and were set aside in %s; the other %d agents are loaded",
            len(recovered.rejected),
            path.name,
            len(recovered.agents),
        )

    async def commit(self, change: Change) -> int:
        """Checks, numbers and queues the change, then waits until its batch is fsync'd."""
        if self._closed or self._segment is None:
            raise StorageUnavailableError("the registry store is not open; nothing was changed")
        if self._segment.broken:
            raise StorageUnavailableError(
                "the registry journal could not be repaired after a write error; nothing was changed: "
                "restart the server once the disk is healthy"
            )
        if change.request_id:
            await self._refuse_repeated(change.request_id)
        records = self._checked_records(change)
        self._latest_revision = records[-1].revision
        for record in records:
            _apply(self._latest, record)
        line = encode_entry(
            records[0].revision,
            change.request_id,
            change.request_fingerprint,
            [_operation(record) for record in records],
        )
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(line, records, done))
        if change.request_id:
            self._in_flight_requests[change.request_id] = done
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(done)

    async def _refuse_repeated(self, request_id: str) -> None:
        in_flight = self._in_flight_requests.get(request_id)
        if in_flight is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(in_flight)
        previous = self._requests.get(request_id)
        if previous is not None:
            raise DuplicateRequestError(request_id, previous)

    def _checked_records(self, change: Change) -> tuple[ChangeRecord, ...]:
        """The change's records with their revisions; raises StoreConflictError if an etag does not hold."""
        overlay: dict[str, StoredAgent | None] = {}
        records = []
        revision = self._latest_revision
        for mutation in change.mutations:
            name = mutation.spec.name if isinstance(mutation, PutAgent) else mutation.name
            current = overlay[name] if name in overlay else self._latest.get(name)
            current_etag = current.etag if current else None
            if isinstance(mutation, DeleteAgent) and current is None:
                raise StoreConflictError(name, self._latest_revision, f"agent {name!r} does not exist")
            if current_etag != mutation.expected_etag:
                raise StoreConflictError(
                    name, self._latest_revision, f"agent {name!r} changed (etag is now {current_etag!r})"
                )
            revision += 1
            request = (change.request_id, change.request_fingerprint)
            if isinstance(mutation, PutAgent):
                agent = StoredAgent(mutation.spec, mutation.etag, revision)
                records.append(ChangeRecord(revision, ChangeKind.PUT, name, agent, *request))
                overlay[name] = agent
            else:
                records.append(ChangeRecord(revision, ChangeKind.DELETE, name, None, *request))
                overlay[name] = None
        if not records:
            raise ValueError("a change holds at least one mutation")
        return tuple(records)

    async def _flush(self) -> None:
        """Writes every queued change with one fsync per batch, while new ones queue behind it."""
        while self._pending:
            batch, self._pending = self._pending, []
            segment = self._segment
            if segment is None:  # closed under a failed load; nothing can be written
                self._fail(batch, OSError("the journal is closed"))
                return
            data = b"".join(item.line for item in batch)
            count = sum(len(item.records) for item in batch)
            try:
                await asyncio.to_thread(segment.append, data, count)
            except OSError as exc:
                self._fail([*batch, *self._pending], exc)
                continue
            for item in batch:
                self._make_durable(item)
            if segment.records >= self._compact_after_records or segment.size >= self._compact_after_bytes:
                await self._rotate()

    def _make_durable(self, item: _Pending) -> None:
        for record in item.records:
            _apply(self._durable, record)
            self._history_append(record)
        self._durable_revision = item.records[-1].revision
        request_id = item.records[0].request_id
        if request_id:
            self._in_flight_requests.pop(request_id, None)
            self._requests[request_id] = item.records
        item.done.set_result(self._durable_revision)

    def _fail(self, failed: list[_Pending], exc: OSError) -> None:
        """Undoes every queued change: memory falls back to what is durable."""
        self._pending = []
        self._latest = dict(self._durable)
        self._latest_revision = self._durable_revision
        log.error("could not write the registry journal: %s; %d changes refused", exc, len(failed))
        error = StorageUnavailableError(
            f"the registry journal could not be written ({exc.strerror or exc}); nothing was changed"
        )
        for item in failed:
            if item.records[0].request_id:
                self._in_flight_requests.pop(item.records[0].request_id, None)
            item.done.set_exception(error)
            item.done.exception()  # a cancelled caller never reads it; this marks it retrieved

    def _history_append(self, record: ChangeRecord) -> None:
        if len(self._history) == self._history.maxlen:
            oldest = self._history[0]
            if oldest.request_id and self._requests.get(oldest.request_id, (None,))[0] == oldest:
                del self._requests[oldest.request_id]
        self._history.append(record)

    async def changes_since(self, revision: int, limit: int = 1000) -> list[ChangeRecord]:
        """Durable records after `revision` from the kept history; RevisionCompactedError if too old."""
        if revision >= self._durable_revision:
            return []
        oldest = self._history[0].revision if self._history else self._durable_revision + 1
        if revision < oldest - 1:
            raise RevisionCompactedError(revision, oldest - 1)
        start = revision - oldest + 1
        if start < len(self._history) and self._history[start].revision == revision + 1:
            return [self._history[i] for i in range(start, min(start + limit, len(self._history)))]
        # the history has a hole (a journal that lost records): find the position the slow way
        return [record for record in self._history if record.revision > revision][:limit]

    def subscribe(self, listener: ChangeListener) -> None:
        """Never called back: no other process shares an embedded store."""

    async def close(self) -> None:
        """Waits for queued writes and compaction, writes a final snapshot and closes the journal."""
        self._closed = True
        if self._flusher is not None:
            await self._flusher
        if self._compactor is not None:
            await self._compactor
        if self._segment is not None:
            if self._durable_revision > self._snapshot_revision:
                await self._compact()
            self._segment.close()
            self._segment = None

    async def _rotate(self) -> None:
        """Starts a new segment and compacts the closed ones into a snapshot in the background."""
        closed = self._segment
        try:
            self._segment = await asyncio.to_thread(self._open_segment, self._durable_revision + 1)
        except OSError as exc:  # keep appending to the current segment; the next rotation retries
            log.error("could not start a new registry journal segment: %s", exc)
            return
        if closed is not None:
            closed.close()
        if self._compactor is None or self._compactor.done():
            self._compactor = asyncio.create_task(self._compact())

    async def _compact(self) -> None:
        """Writes the durable state as the snapshot, then drops the segments the backup no longer needs."""
        agents = [(agent.spec, agent.revision) for agent in self._durable.values()]
        revision, backup_revision = self._durable_revision, self._snapshot_revision
        try:
            await asyncio.to_thread(self._write_snapshot, agents, revision, backup_revision)
        except Exception:  # the journal still holds every change; the next compaction retries
            log.exception("could not compact the registry journal into %s", self._snapshots.path.name)
            return
        self._snapshot_revision = revision

    def _write_snapshot(
        self, agents: Sequence[tuple[AgentSpec, int]], revision: int, backup_revision: int
    ) -> None:
        self._snapshots.save(render_snapshot(agents, revision))
        segments = segments_in(self._directory)
        for (_, path), (next_first, _) in itertools.pairwise(segments):
            if next_first - 1 <= min(backup_revision, revision - RETAINED_CHANGES):
                path.unlink()
        sync_directory(self._directory)

    def _open_segment(self, first_revision: int) -> SegmentWriter:
        segment = SegmentWriter(self._directory / segment_name(first_revision), first_revision)
        sync_directory(self._directory)
        return segment


def _apply(agents: dict[str, StoredAgent], record: ChangeRecord) -> None:
    if record.agent is None:
        agents.pop(record.name, None)
    else:
        agents[record.name] = record.agent


def _operation(record: ChangeRecord) -> dict[str, object]:
    if record.agent is None:
        return delete_operation(record.name)
    return put_operation(spec_to_record(record.agent.spec), record.agent.etag)


def _shown(text: str, limit: int = 200) -> str:
    """Text safe for one log line: control characters escaped, length capped."""
    shown = repr(text)[1:-1]
    return shown if len(shown) <= limit else shown[:limit] + "..."
