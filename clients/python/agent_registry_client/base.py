"""What every service client shares: the channel, default deadlines, typed errors, `async with`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from grpc import aio

from agent_registry_client.channel import DEFAULT_TARGET, DEFAULT_TIMEOUT_S, open_channel
from agent_registry_client.errors import error_from_rpc

Response = TypeVar("Response")


class ServiceClient:
    """Base of the clients: opens (or borrows) a channel and turns failed calls into typed errors."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        channel: aio.Channel | None = None,
    ) -> None:
        self._owns_channel = channel is None
        self._channel = channel or open_channel(target)
        self._timeout = timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel if this client opened it."""
        if self._owns_channel:
            await self._channel.close()

    async def _call(self, method: Callable[..., Awaitable[Response]], request: Any) -> Response:
        try:
            return await method(request, timeout=self._timeout)
        except aio.AioRpcError as error:
            raise error_from_rpc(error) from None
