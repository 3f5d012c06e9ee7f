"""connect(): one client for the three services over one channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from grpc import aio

from agent_registry_client.base import Metadata
from agent_registry_client.channel import DEFAULT_TARGET, DEFAULT_TIMEOUT_S, TlsOptions, open_channel
from agent_registry_client.registry import RegistryClient
from agent_registry_client.router import DEFAULT_TURN_TIMEOUT_S, RouterClient
from agent_registry_client.sessions import SessionClient


@dataclass
class AgentRegistry:
    """A connection to an Agent Registry server: `.registry`, `.sessions` and `.router` share its channel."""

    channel: aio.Channel
    registry: RegistryClient
    sessions: SessionClient
    router: RouterClient

    async def close(self) -> None:
        """Closes the channel; in-flight calls are cancelled."""
        await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def connect(
    target: str = DEFAULT_TARGET,
    *,
    token: str | None = None,
    tls: TlsOptions | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    turn_timeout: float = DEFAULT_TURN_TIMEOUT_S,
    metadata: Metadata = (),
    channel_options: Sequence[tuple[str, object]] = (),
) -> AgentRegistry:
    """A client of the server at `target`; use as `async with connect(target) as client:`.

    `token` is the bearer token, `tls` the TLS (or mTLS) settings, `timeout` the default deadline of a unary
    call and `turn_timeout` that of a RouteAndInvoke stream; `metadata` goes with every call. UNAVAILABLE is
    retried with backoff.
    """
    channel = open_channel(target, channel_options, tls)
    return AgentRegistry(
        channel=channel,
        registry=RegistryClient(channel=channel, token=token, timeout=timeout, metadata=metadata),
        sessions=SessionClient(channel=channel, token=token, timeout=timeout, metadata=metadata),
        router=RouterClient(
            channel=channel, token=token, timeout=timeout, turn_timeout=turn_timeout, metadata=metadata
        ),
    )
