"""`agentctl health [--service NAME]`: the server's gRPC health status."""

from __future__ import annotations

import argparse

from agent_registry_client.agentctl.command import CommandError, Invocation, handler


async def health(run: Invocation) -> None:
    """Prints SERVING or the status; a server that is not serving fails the command."""
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc
    except ImportError:
        raise CommandError(
            "health needs grpcio-health-checking: pip install 'agent-registry-client[cli]'"
        ) from None
    from grpc import aio

    from agent_registry_client.errors import error_from_rpc

    stub = health_pb2_grpc.HealthStub(run.client.channel)
    try:
        # The grpcio-health-checking stubs leave out HealthStub's methods, which the runtime class has.
        reply = await stub.Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(service=run.args.service),
            timeout=run.args.timeout,
            metadata=run.client.registry._call_metadata(()),
        )
    except aio.AioRpcError as error:
        raise error_from_rpc(error) from None
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    run.show({"service": run.args.service or "(server)", "status": status})
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise CommandError(f"{run.args.service or 'the server'} is {status}")


def add_commands(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `health` command."""
    command = groups.add_parser("health", help="is the server (or one service) SERVING?")
    command.add_argument("--service", default="", help="e.g. agentregistry.v1.RegistryService")
    handler(command, health)
