"""Builds and runs the grpc.aio server: servicers, health, reflection and the RPC interceptor."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from datetime import timedelta

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from agentregistry.v1 import (
    registry_service_pb2,
    registry_service_pb2_grpc,
    router_service_pb2,
    router_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
)
from registry_server.api.interceptor import RpcInterceptor
from registry_server.api.registry_servicer import RegistryServicer
from registry_server.api.router_servicer import RouterServicer
from registry_server.api.session_servicer import SessionServicer
from registry_server.config import ServerConfig
from registry_server.data_dir_lock import DataDirLock
from registry_server.domain.agent import AgentState
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.file_store import FileStore
from registry_server.routing.config import RoutingConfig
from registry_server.routing.gemini_selector import GeminiSelector
from registry_server.routing.router import Router
from registry_server.sessions.retention import RetentionTask
from registry_server.sessions.sqlite_store import SESSIONS_FILE_NAME, SqliteSessionStore

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    session_service_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    router_service_pb2.DESCRIPTOR.services_by_name["RouterService"].full_name,
)


@dataclass
class RegistryServer:
    """A running server; `port` is the bound port (useful with port 0)."""

    server: aio.Server
    health: health_aio.HealthServicer
    registry: AgentRegistry
    router: Router
    sessions: SqliteSessionStore
    retention: RetentionTask
    data_dir_lock: DataDirLock
    port: int
    config: ServerConfig

    async def stop(self, grace_s: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight RPCs finish within the grace period, then closes the stores."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.config.shutdown_grace_s if grace_s is None else grace_s)
        await self.retention.stop()
        await self.sessions.close()
        self.data_dir_lock.release()
        log.info("Registry service stopped")

    async def wait_for_termination(self) -> None:
        """Waits until the server has stopped."""
        await self.server.wait_for_termination()


async def start_server(config: ServerConfig) -> RegistryServer:
    """Loads the stores, starts serving on config.host:config.port and marks every service SERVING."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    routing = config.routing()
    data_dir_lock = DataDirLock(config.data_dir)
    data_dir_lock.acquire()
    try:
        registry = AgentRegistry(FileStore(config.data_dir, config.resolved_defaults_file))
        await registry.load()
        sessions = await SqliteSessionStore(
            config.data_dir / SESSIONS_FILE_NAME, busy_timeout_ms=config.sqlite_busy_timeout_ms
        ).open()
    except BaseException:
        data_dir_lock.release()
        raise
    retention = timedelta(days=config.session_retention_days)
    purger = RetentionTask(sessions, retention, timedelta(seconds=config.retention_interval_s))
    router = Router(registry, routing, _gemini(routing))
    # What start-up loaded lives as long as the server: keep the collector from rescanning it each pass.
    gc.collect()
    gc.freeze()

    # Without SO_REUSEPORT a second server on the same port fails loudly instead of sharing the traffic.
    server = aio.server(interceptors=[RpcInterceptor()], options=[("grpc.so_reuseport", 0)])
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(
        RegistryServicer(registry, router), server
    )
    router_service_pb2_grpc.add_RouterServiceServicer_to_server(RouterServicer(router, sessions), server)
    session_service_pb2_grpc.add_SessionServiceServicer_to_server(
        SessionServicer(sessions, max_content_bytes=config.max_content_bytes, retention=retention), server
    )
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    try:
        port = _listen(server, config.host, config.port)
        await server.start()
    except BaseException:
        await sessions.close()
        data_dir_lock.release()
        raise
    purger.start()
    for service in ("", *SERVICE_NAMES):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    _log_ready(registry, config.host, port)
    log.info(
        "stage 2: %s",
        f"Gemini {routing.gemini_model}" if routing.gemini_api_key else "offline selector (no API key)",
    )
    return RegistryServer(server, health, registry, router, sessions, purger, data_dir_lock, port, config)


def _gemini(routing: RoutingConfig) -> GeminiSelector | None:
    if not routing.gemini_api_key:
        return None
    return GeminiSelector(
        routing.gemini_api_key, routing.gemini_model, routing.stage2_timeout_s, routing.gemini_base_url
    )


def _listen(server: aio.Server, host: str, port: int) -> int:
    try:
        return server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as error:
        raise OSError(
            f"could not listen on {host}:{port} ({error}); is another server using the port?"
        ) from error


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
