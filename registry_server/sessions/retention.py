"""Background purge of closed sessions past the retention period."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from registry_server.domain.clock import Clock, utc_now
from registry_server.domain.errors import StorageUnavailableError
from registry_server.sessions.store import SessionStore

log = logging.getLogger(__name__)


class RetentionTask:
    """Every `interval`, deletes COMPLETED and ABANDONED sessions not updated within `retention`."""

    def __init__(
        self,
        store: SessionStore,
        retention: timedelta,
        interval: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._retention = retention
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._runs: asyncio.Queue[int] = asyncio.Queue()

    def start(self) -> None:
        """Starts purging in the background; the first purge runs at once."""
        self._task = asyncio.create_task(self._run(), name="session-retention")

    async def stop(self) -> None:
        """Stops the background task, waiting for a purge batch in progress."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def purge_once(self) -> int:
        """Purges now; returns how many sessions were deleted."""
        purged = await self._store.purge_expired(self._clock() - self._retention)
        if purged:
            log.info("retention purged %d sessions closed more than %s ago", purged, self._retention)
        return purged

    async def next_run(self) -> int:
        """Waits for the next background purge to finish; returns how many it deleted (-1 if it failed)."""
        return await self._runs.get()

    async def _run(self) -> None:
        while True:
            purged = -1
            try:
                purged = await self.purge_once()
            except StorageUnavailableError as error:
                log.warning("retention purge skipped: %s", error)
            except Exception:
                log.exception("retention purge failed; retrying at the next interval")
            self._runs.put_nowait(purged)
            await asyncio.sleep(self._interval.total_seconds())
