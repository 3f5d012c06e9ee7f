"""What every service client shares: the channel, default deadlines, typed errors, `async with`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from grpc import aio

from agent_registry_client.channel import DEFAULT_TARGET, DEFAULT_TIMEOUT_S, TlsOptions, open_channel
from agent_registry_client.errors import error_from_rpc

Response = TypeVar("Response")
# Extra metadata for a call: (key, value) pairs; keys are lower case, e.g. ("x-request-id", "abc").
Metadata = Sequence[tuple[str, str]]


class ServiceClient:
    """Base of the clients: opens (or borrows) a channel, sends the bearer token, types the errors.

    `token` is sent as `authorization: Bearer <token>` on every call; `tls` makes the channel TLS (mTLS with
    a client certificate); `metadata` goes with every call. Each method also takes `timeout=` (seconds,
    replacing the default deadline) and `metadata=` (added for that call).
    """

    stub_type: Callable[[aio.Channel], Any]  # the generated stub class of the client's service

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        channel: aio.Channel | None = None,
        token: str | None = "",
        tls: TlsOptions | None = None,
        metadata: Metadata = (),
    ) -> None:
        self._owns_channel = channel is None
        self._channel = channel or open_channel(target, tls=tls)
        self._timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (
            *((("authorization", f"Bearer {token}"),) if token else ()),
            *metadata,
        )
        self.stub = self.stub_type(self._channel)

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

    def _call_metadata(self, metadata: Metadata) -> tuple[tuple[str, str], ...]:
        """The client's metadata (token, defaults) followed by the call's own."""
        return (*self._metadata, *metadata) if metadata else self._metadata

    async def _call(
        self,
        method: Callable[..., Awaitable[Response]],
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Response:
        try:
            return await method(
                request,
                timeout=self._timeout if timeout is None else timeout,
                metadata=self._call_metadata(metadata),
            )
        except aio.AioRpcError as error:
            raise error_from_rpc(error) from None
