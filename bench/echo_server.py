"""A bare grpc.aio RegistryService whose GetAgent returns a prebuilt message: the ceiling to compare to.

It pays what any grpc.aio server pays (transport, request parsing, response serialisation) and nothing else.
"""

from __future__ import annotations

import asyncio
import sys

from grpc import aio

from agentregistry.v1 import agent_pb2, registry_service_pb2, registry_service_pb2_grpc

RESPONSE = registry_service_pb2.GetAgentResponse(
    agent=agent_pb2.Agent(
        name="agent_00001",
        description="Synthetic agent 1 for benchmarks.",
        factory=agent_pb2.AgentFactory(module="bench.cheap_agents", function="create_cheap_agent"),
        capabilities=agent_pb2.AgentCapabilities(
            domains=["topic1"],
            entities=["thing1", "item1"],
            operations=["list", "create", "close"],
            keywords=["kw1", "kw2", "kw3", "kw4"],
            priority=7,
        ),
        tags=["bench"],
        enabled=True,
        state=agent_pb2.AGENT_STATE_AVAILABLE,
        etag="0123456789abcdef0123",
    )
)


class EchoRegistry(registry_service_pb2_grpc.RegistryServiceServicer):
    """Answers GetAgent with the same prebuilt message."""

    async def GetAgent(
        self, request: registry_service_pb2.GetAgentRequest, context: aio.ServicerContext
    ) -> registry_service_pb2.GetAgentResponse:
        return RESPONSE


async def serve() -> None:
    """Serves on a free loopback port and prints `ready <port>`."""
    server = aio.server(options=[("grpc.so_reuseport", 0)])
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(EchoRegistry(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ready {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
