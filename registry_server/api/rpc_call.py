"""What the interceptor reads from a call's metadata: credentials, the caller's request id, trace context."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grpc import aio

from registry_server.domain.request_id import new_request_id

REQUEST_ID_KEY = "x-request-id"
# A caller's id is echoed into logs and trailers only if short and plain; otherwise the server makes one.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:/-]{1,64}")


@dataclass(frozen=True)
class CallMetadata:
    """The parts of a call's metadata the server acts on."""

    authorization: str | None
    request_id: str
    metadata: tuple[tuple[str, str | bytes], ...]


def read_metadata(context: aio.ServicerContext[Any, Any]) -> CallMetadata:
    """Credentials and request id of the call (a new id unless the caller sent a plain one)."""
    metadata = tuple(context.invocation_metadata() or ())
    authorization: str | None = None
    request_id = ""
    for key, value in metadata:
        if key == "authorization" and isinstance(value, str):
            authorization = value
        elif key == REQUEST_ID_KEY and isinstance(value, str) and _PLAIN_ID.fullmatch(value):
            request_id = value
    return CallMetadata(authorization, request_id or new_request_id(), metadata)


def peer_address(context: aio.ServicerContext[Any, Any]) -> str:
    """The caller's address without its port (`ipv4:127.0.0.1`), the key of per-peer limits."""
    peer = context.peer() or "unknown"
    return peer.rsplit(":", 1)[0] if peer.startswith(("ipv4:", "ipv6:")) else peer
