"""Channel construction shared by the clients: retries of UNAVAILABLE through the gRPC service config."""

from __future__ import annotations

import json
from collections.abc import Sequence

from grpc import aio

SERVICES = (
    "agentregistry.v1.RegistryService",
    "agentregistry.v1.SessionService",
    "agentregistry.v1.RouterService",
)
DEFAULT_TARGET = "localhost:8003"
DEFAULT_TIMEOUT_S = 10.0

# The server answers UNAVAILABLE only when it changed nothing, so retrying a mutation is safe;
# gRPC also stops retrying once a response has started.
SERVICE_CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": service} for service in SERVICES],
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


def open_channel(target: str, options: Sequence[tuple[str, object]] = ()) -> aio.Channel:
    """An insecure channel to `target` with the retry policy enabled."""
    return aio.insecure_channel(
        target,
        options=[
            ("grpc.enable_retries", 1),
            ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
            *options,
        ],
    )
