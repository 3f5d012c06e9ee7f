"""Channel construction shared by the clients: retries of UNAVAILABLE through the gRPC service config."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc import aio

SERVICES = (
    "agentregistry.v1.RegistryService",
    "agentregistry.v1.SessionService",
    "agentregistry.v1.RouterService",
)
DEFAULT_TARGET = "localhost:8003"
DEFAULT_TIMEOUT_S = 10.0

# Only calls that are safe to repeat are retried on UNAVAILABLE: reads, and mutations that carry a request
# id (AIP-155), which the server applies once however often they arrive. gRPC also stops retrying once a
# response has started. A method joins this list when it gains a request id.
RETRYABLE_METHODS = {
    "agentregistry.v1.RegistryService": (
        "GetAgent",
        "ListAgents",
        "SearchAgents",
        "ExportRegistry",
    ),
    "agentregistry.v1.SessionService": (
        "CreateSession",
        "GetSession",
        "ListSessions",
        "AppendHistory",
        "RecordInvocation",
        "UpdateSessionStatus",
        "DeleteSession",
        "ExportSession",
        "GetSessionStats",
        "PurgeExpiredSessions",
        "AppendEvent",
        "GetUserState",
    ),
    # RouteAndInvoke is retried only before its first message, i.e. before any agent ran; its request id
    # makes the retry continue the session the first attempt created.
    "agentregistry.v1.RouterService": ("Route", "RouteAndInvoke"),
}
SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [
                {"service": service, "method": method}
                for service, methods in RETRYABLE_METHODS.items()
                for method in methods
            ],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}


@dataclass(frozen=True)
class TlsOptions:
    """TLS to the server: the CA of its certificate and, for mTLS, this client's certificate and key."""

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None

    @classmethod
    def from_files(
        cls, ca: str | Path | None = None, cert: str | Path | None = None, key: str | Path | None = None
    ) -> TlsOptions:
        """Options from PEM files; `ca` None trusts the system's roots."""
        return cls(*(Path(path).read_bytes() if path else None for path in (ca, cert, key)))


def open_channel(
    target: str, options: Sequence[tuple[str, object]] = (), tls: TlsOptions | None = None
) -> aio.Channel:
    """A channel to `target` (TLS when `tls` is given) with the retry policy enabled."""
    channel_options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        *options,
    ]
    if tls is None:
        return aio.insecure_channel(target, options=channel_options)
    credentials = grpc.ssl_channel_credentials(tls.root_certificates, tls.private_key, tls.certificate_chain)
    return aio.secure_channel(target, credentials, options=channel_options)
