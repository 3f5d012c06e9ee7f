"""A bare grpc.aio server answering RegistryService/GetAgent with fixed bytes: the ceiling to compare to."""

from __future__ import annotations

import asyncio
import sys

import grpc
from grpc import aio

from agentregistry.v1 import agent_pb2, registry_service_pb2


async def serve() -> None:
    """Serves on a free loopback port and prints `ready <port>`."""
    response = registry_service_pb2.GetAgentResponse(
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
    ).SerializeToString()

    async def get_agent(request: bytes, context: aio.ServicerContext) -> bytes:
        return response

    server = aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.unary_unary_rpc_method_handler(get_agent)  # bytes in, bytes out: no (de)serialisation
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("agentregistry.v1.RegistryService", {"GetAgent": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ready {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
