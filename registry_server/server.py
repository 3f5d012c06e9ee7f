"""Builds and runs the grpc.aio server: servicers, health, reflection and the RPC interceptor."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc
from registry_server.api.interceptor import RpcInterceptor
from registry_server.api.registry_servicer import RegistryServicer
from registry_server.config import ServerConfig
from registry_server.domain.agent import AgentState
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.file_store import FileStore

log = logging.getLogger(__name__)

SERVICE_NAMES = (registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,)


@dataclass
class RegistryServer:
    """A running server; `port` is the bound port (useful with port 0)."""

    server: aio.Server
    health: health_aio.HealthServicer
    registry: AgentRegistry
    port: int
    config: ServerConfig

    async def stop(self, grace_s: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight RPCs finish within the grace period, then stops."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.config.shutdown_grace_s if grace_s is None else grace_s)
        log.info("Registry service stopped")

    async def wait_for_termination(self) -> None:
        """Waits until the server has stopped."""
        await self.server.wait_for_termination()


async def start_server(config: ServerConfig) -> RegistryServer:
    """Loads the stores, starts serving on config.host:config.port and marks every service SERVING."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    registry = AgentRegistry(FileStore(config.data_dir, config.resolved_defaults_file))
    await registry.load()

    server = aio.server(interceptors=[RpcInterceptor()])
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(registry), server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"could not listen on {config.host}:{config.port}")
    await server.start()
    for service in ("", *SERVICE_NAMES):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    _log_ready(registry, config.host, port)
    return RegistryServer(server, health, registry, port, config)


def _log_ready(registry: AgentRegistry, host: str, port: int) -> None:
    unavailable = [agent for agent in registry.agents() if agent.state is AgentState.UNAVAILABLE]
    detail = "; ".join(f"{agent.name}: {agent.state_message}" for agent in unavailable)
    log.info(
        "Registry service ready with %d agents (%d unavailable%s) on %s:%d",
        len(registry),
        len(unavailable),
        f": {detail}" if detail else "",
        host,
        port,
    )
