"""LISTEN on PostgreSQL channels over one dedicated connection that reconnects by itself.

Notifications are the mechanism that moves changes between instances. A notification sent while the
connection was down is lost, so every (re)connect calls `on_connected`, whose job is to catch up by
revision: that is the only time anything is read without having been told to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from registry_server.postgres.database import CONNECT_TIMEOUT_S, CONNECTION_ERRORS, Connection

log = logging.getLogger(__name__)

NotificationHandler = Callable[[str, str], None]
ConnectedHandler = Callable[[], Awaitable[None]]

FIRST_RETRY_S = 0.05
LAST_RETRY_S = 2.0
PING_INTERVAL_S = 5.0


class NotificationListener:
    """Keeps a LISTEN connection open on `channels`, handing each payload to `on_notification`."""

    def __init__(
        self,
        url: str,
        channels: Sequence[str],
        on_notification: NotificationHandler,
        on_connected: ConnectedHandler,
    ) -> None:
        self._url = url
        self._channels = tuple(channels)
        self._on_notification = on_notification
        self._on_connected = on_connected
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()
        self.reconnects = 0

    def start(self) -> None:
        """Starts listening in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="postgres-listener")

    async def stop(self) -> None:
        """Stops listening and closes the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = FIRST_RETRY_S
        while True:
            try:
                await self._listen_until_lost()
                delay = FIRST_RETRY_S
            except CONNECTION_ERRORS as error:
                log.warning("change notifications interrupted (%s); reconnecting in %.2f s", error, delay)
            except Exception:
                log.exception("change notifications failed; reconnecting in %.2f s", delay)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_S)
            self.reconnects += 1

    async def _listen_until_lost(self) -> None:
        connection = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_S)
        self._lost.clear()
        try:
            connection.add_termination_listener(lambda _connection: self._lost.set())
            for channel in self._channels:
                await connection.add_listener(channel, self._deliver)
            self.connected.set()
            await self._on_connected()
            await self._watch(connection)
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await asyncio.wait_for(connection.close(), CONNECT_TIMEOUT_S)
            if not connection.is_closed():
                connection.terminate()

    async def _watch(self, connection: asyncpg.Connection) -> None:
        """Returns when the connection is lost; a ping now and then finds a silently dead peer."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), PING_INTERVAL_S)
                break
            await connection.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)
        log.warning("change notification connection closed; reconnecting")

    def _deliver(self, _connection: Connection, _pid: int, channel: str, payload: object) -> None:
        self._on_notification(channel, str(payload))
