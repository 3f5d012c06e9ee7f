"""The registry's change feed: installs committed changes in revision order and hands them to watchers."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from registry_server.domain.errors import StorageUnavailableError
from registry_server.registry.store import ChangeRecord, RegistryStore

WATCH_QUEUE_LIMIT = 10_000
REMEMBERED_REQUESTS = 10_000


@dataclass(frozen=True)
class RequestKey:
    """A caller's request id (AIP-155) and the fingerprint of what it asked, to tell retries from reuse."""

    request_id: str
    fingerprint: str


class Watcher:
    """One subscriber's queue of installed records; it ends when the subscriber falls too far behind."""

    def __init__(self, limit: int) -> None:
        self._queue: asyncio.Queue[ChangeRecord | None] = asyncio.Queue()
        self._limit = limit
        self.overflowed = False

    def end(self) -> None:
        """Ends the watcher's records at once."""
        self.overflowed = True
        self._queue.put_nowait(None)

    def push(self, records: Sequence[ChangeRecord]) -> None:
        """Queues records; past the limit the watcher ends, and its reader resumes from the store."""
        if self.overflowed:
            return
        if self._queue.qsize() + len(records) > self._limit:
            self.overflowed = True
            self._queue.put_nowait(None)
            return
        for record in records:
            self._queue.put_nowait(record)

    async def records(self) -> AsyncIterator[ChangeRecord]:
        """The queued records, as they come, until an overflow."""
        while (record := await self._queue.get()) is not None:
            yield record


class ChangeFeed:
    """Installs changes strictly in revision order, whatever order their commits return in."""

    def __init__(self) -> None:
        self.revision = 0
        self._pending: dict[int, tuple[Sequence[ChangeRecord], Callable[[], None]]] = {}
        self._progress = asyncio.Event()
        self._watchers: set[Watcher] = set()
        self.closed = False
        self._requests: OrderedDict[str, tuple[ChangeRecord, ...]] = OrderedDict()

    def start(self, revision: int, history: Sequence[ChangeRecord]) -> None:
        """Starts at the loaded revision, remembering the request ids of the kept history."""
        self.revision = revision
        for record in history:
            if record.request_id:
                self._remember(record.request_id, (*self._requests.get(record.request_id, ()), record))

    def offer(self, records: Sequence[ChangeRecord], install: Callable[[], None]) -> None:
        """Runs `install` as soon as every earlier revision is installed, then tells watchers."""
        if records[-1].revision <= self.revision:
            return
        self._pending[records[0].revision] = (records, install)
        self._drain()

    def _drain(self) -> None:
        drained = False
        while (entry := self._pending.pop(self.revision + 1, None)) is not None:
            records, install = entry
            install()
            self.revision = records[-1].revision
            if records[0].request_id:
                self._remember(records[0].request_id, tuple(records))
            for watcher in self._watchers:
                watcher.push(records)
            drained = True
        if drained:
            self._progress.set()
            self._progress = asyncio.Event()

    async def installed(self, revision: int) -> None:
        """Waits until every change up to `revision` is installed."""
        while self.revision < revision:
            await self._progress.wait()

    def close(self) -> None:
        """Ends every watcher (the server is stopping) and refuses new ones."""
        self.closed = True
        for watcher in self._watchers:
            watcher.end()

    def subscribe(self, limit: int = WATCH_QUEUE_LIMIT) -> Watcher:
        """A new watcher of every change installed from now on."""
        if self.closed:
            raise StorageUnavailableError(
                "the server is shutting down: watch again, from the revision of the last change received"
            )
        watcher = Watcher(limit)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        """Stops feeding `watcher`."""
        self._watchers.discard(watcher)

    def previous_request(self, key: RequestKey | None) -> tuple[ChangeRecord, ...] | None:
        """The records an earlier commit with this request id wrote, if it is remembered."""
        if key is None or not key.request_id:
            return None
        return self._requests.get(key.request_id)

    def _remember(self, request_id: str, records: tuple[ChangeRecord, ...]) -> None:
        self._requests[request_id] = records
        self._requests.move_to_end(request_id)
        while len(self._requests) > REMEMBERED_REQUESTS:
            self._requests.popitem(last=False)


async def follow_changes(
    store: RegistryStore, feed: ChangeFeed, since_revision: int | None
) -> AsyncGenerator[ChangeRecord, None]:
    """The store's kept changes after `since_revision`, then the feed's, with no gap and no duplicate.

    A watcher that falls too far behind is dropped by the feed and catches up from the store again.
    """
    last = feed.revision if since_revision is None else since_revision
    while True:
        watcher = feed.subscribe()
        try:
            while backlog := [
                record for record in await store.changes_since(last) if record.revision <= feed.revision
            ]:
                for record in backlog:
                    yield record
                    last = record.revision
            async for record in watcher.records():
                if record.revision > last:
                    yield record
                    last = record.revision
        finally:
            feed.unsubscribe(watcher)
