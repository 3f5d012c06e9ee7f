"""Container health probe: `python -m registry_server.healthcheck` exits 0 when the server is SERVING."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(target: str, service: str = "", timeout_s: float = 3.0, tls: tuple[Path | None, ...] = ()) -> bool:
    """True when the gRPC health service at `target` reports `service` SERVING; `tls` is (ca, cert, key)."""
    if any(tls):
        ca, cert, key = (path.read_bytes() if path else None for path in tls)
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(ca, key, cert))
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        try:
            # The grpcio-health-checking stubs leave out HealthStub's methods, which the runtime class has.
            reply = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as error:
            print(f"unhealthy: {error.code().name}: {error.details()}", file=sys.stderr)
            return False
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        print(
            f"unhealthy: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}", file=sys.stderr
        )
        return False
    return True


def main() -> None:
    """Probes 127.0.0.1:$AGENT_REGISTRY_PORT (or --target) and exits 0 or 1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default=f"127.0.0.1:{os.environ.get('AGENT_REGISTRY_PORT', '8003')}")
    parser.add_argument("--service", default="")
    for name in ("ca", "cert", "key"):
        variable = f"AGENT_REGISTRY_HEALTHCHECK_TLS_{name.upper()}"
        parser.add_argument(
            f"--tls-{name}",
            type=Path,
            default=os.environ.get(variable) or None,
            help=f"PEM {name} for a TLS server (${variable})",
        )
    args = parser.parse_args()
    sys.exit(0 if check(args.target, args.service, tls=(args.tls_ca, args.tls_cert, args.tls_key)) else 1)


if __name__ == "__main__":
    main()
