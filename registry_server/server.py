"""Builds and runs the grpc.aio server: servicers, health, reflection, the RPC interceptor and metrics."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from agentregistry.v1 import (
    registry_service_pb2,
    registry_service_pb2_grpc,
    router_service_pb2,
    router_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
)
from registry_server.agent_session_listener import AgentSessionListener
from registry_server.agents.agent_host import AgentHost
from registry_server.agents.health import HealthMonitor, ProbeSettings
from registry_server.api.interceptor import RpcInterceptor
from registry_server.api.reflection import enable_reflection
from registry_server.api.registry_servicer import RegistryServicer
from registry_server.api.router_servicer import RouterServicer
from registry_server.api.session_servicer import SessionServicer
from registry_server.auth.tokens import TokenAuthenticator, load_auth_config
from registry_server.config import ServerConfig
from registry_server.connection_limits import channel_options, log_file_descriptor_budget
from registry_server.data_dir_lock import DataDirLock
from registry_server.domain.agent import AgentState
from registry_server.metrics import serve_metrics, track_registry
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.backend import lease_store_for, open_registry_store
from registry_server.registry.leases import LeaseKeeper
from registry_server.routing.config import RoutingConfig
from registry_server.routing.embedder import Embedder, shared_embedder
from registry_server.routing.gemini_selector import GeminiSelector
from registry_server.routing.invoker import InvocationLimits
from registry_server.routing.router import Router
from registry_server.routing.vector_cache import VECTOR_CACHE_FILE_NAME, VectorCache
from registry_server.sessions.open_store import open_session_store
from registry_server.sessions.retention import RetentionTask
from registry_server.sessions.store import SessionStore
from registry_server.tracing import RpcTracer

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
    sessions: SessionStore
    retention: RetentionTask
    data_dir_lock: DataDirLock
    port: int
    config: ServerConfig
    leases: LeaseKeeper | None = None
    metrics_port: int | None = None
    _stop_metrics: Callable[[], None] | None = field(default=None, repr=False)
    agent_host: AgentHost | None = None
    agent_health: HealthMonitor | None = None
    agent_sessions: AgentSessionListener | None = None

    async def stop(self, grace_s: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight RPCs finish within the grace period, then closes the stores."""
        if self.agent_health is not None:
            await self.agent_health.stop()
        await self.health.enter_graceful_shutdown()
        self.registry.end_watches()
        await self.server.stop(self.config.shutdown_grace_s if grace_s is None else grace_s)
        if self._stop_metrics is not None:
            self._stop_metrics()
        if self.agent_host is not None:
            await self.agent_host.stop()
        if self.agent_sessions is not None:
            await self.agent_sessions.stop(0)
        await self.retention.stop()
        await self.sessions.close()
        if self.leases is not None:
            await self.leases.stop()
        await self.registry.close()
        self.router.save_vectors()
        self.data_dir_lock.release()
        log.info("Registry service stopped")

    async def wait_for_termination(self) -> None:
        """Waits until the server has stopped."""
        await self.server.wait_for_termination()


class UnsafeListenError(Exception):
    """The configuration would expose an unauthenticated server beyond this machine."""


async def start_server(config: ServerConfig, tracer: RpcTracer | None = None) -> RegistryServer:
    """Loads the stores, starts serving on config.host:config.port and marks every service SERVING."""
    # What start-up loads (about a million objects with a large registry) lives as long as the server: the
    # collector's passes over it while it is being built cost a third of start-up and free next to nothing.
    # So the collector waits, and then leaves it out of every later pass (frozen, without a full collection
    # first: it would take longer than the passes it saves and free a few dozen objects).
    collecting = gc.isenabled()
    gc.disable()
    try:
        running = await _start_server(config, tracer)
        gc.freeze()
        return running
    finally:
        if collecting:
            gc.enable()


async def _start_server(config: ServerConfig, tracer: RpcTracer | None) -> RegistryServer:
    """start_server, with the collector paused."""
    authenticator = load_auth_config(config.auth_config_file) if config.auth_config_file else None
    _check_exposure(config, authenticator)
    credentials = _tls_credentials(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    routing = config.routing()
    data_dir_lock = DataDirLock(config.data_dir)
    data_dir_lock.acquire()
    agent_host, agent_sessions = _agent_host(config)
    # The embedding model loads while the registry loads and the workers build its agents; it is ready
    # before the index is built, so no thread competes with that build for the interpreter.
    embedder = asyncio.ensure_future(asyncio.to_thread(shared_embedder))
    try:
        await agent_host.start()
        registry, leases, sessions = await _open_stores(config, agent_host, embedder)
        loaded_embedder = embedder.result()
    except BaseException:
        await asyncio.gather(embedder, return_exceptions=True)
        await _stop_agents(agent_host, agent_sessions)
        data_dir_lock.release()
        raise
    retention = timedelta(days=config.session_retention_days)
    purger = RetentionTask(sessions, retention, timedelta(seconds=config.retention_interval_s))
    router = Router(
        registry,
        routing,
        _gemini(routing),
        embedder=loaded_embedder,
        vector_cache=VectorCache(config.data_dir / VECTOR_CACHE_FILE_NAME),
    )
    # Without SO_REUSEPORT a second server on the same port fails loudly instead of sharing the traffic.
    interceptor = RpcInterceptor(authenticator, max_concurrent_rpcs=config.max_concurrent_rpcs, tracer=tracer)
    server = aio.server(interceptors=[interceptor], options=channel_options(config))
    health, session_servicer = _add_services(
        server, config, registry=registry, router=router, sessions=sessions, leases=leases
    )
    enable_reflection((*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name), server)
    try:
        await agent_sessions.start(session_servicer, config)
        port = _listen(server, config.host, config.port, credentials)
        await server.start()
        stop_metrics, metrics_port = (
            serve_metrics(config.host, config.metrics_port)
            if config.metrics_port is not None
            else (None, None)
        )
    except BaseException:
        await server.stop(0)
        await sessions.close()
        await leases.stop()
        await registry.close()
        await _stop_agents(agent_host, agent_sessions)
        data_dir_lock.release()
        raise
    track_registry(lambda: len(registry), lambda: _unavailable_count(registry))
    log_file_descriptor_budget(config)
    purger.start()
    agent_health = HealthMonitor(registry, _probe_settings(config))
    agent_health.start()
    for service in ("", *SERVICE_NAMES):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    _log_started(registry, router.config, config.host, port, metrics_port)
    return RegistryServer(
        server,
        health,
        registry,
        router,
        sessions,
        purger,
        data_dir_lock,
        port,
        config,
        leases,
        metrics_port,
        stop_metrics,
        agent_host,
        agent_health,
        agent_sessions,
    )


async def _open_stores(
    config: ServerConfig, agent_host: AgentHost, embedder: asyncio.Future[Embedder]
) -> tuple[AgentRegistry, LeaseKeeper, SessionStore]:
    """The loaded registry, its lease keeper and the session store, once the embedding model is loaded too."""
    store = await open_registry_store(config.database_url, config.data_dir, config.resolved_defaults_file)
    registry = AgentRegistry(store, builder=agent_host)
    await registry.load()
    try:
        await embedder
    except BaseException:
        await registry.close()
        raise
    leases = LeaseKeeper(registry, lease_store_for(store))
    await leases.start()
    sessions = await open_session_store(
        config.database_url, config.data_dir, sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms
    )
    return registry, leases, sessions


def _log_started(
    registry: AgentRegistry, routing: RoutingConfig, host: str, port: int, metrics_port: int | None
) -> None:
    """The start-up lines: the agents and address, how stage 2 decides, and where the metrics are."""
    _log_ready(registry, host, port)
    log.info(
        "stage 2: %s",
        f"Gemini {routing.gemini_model}" if routing.gemini_api_key else "offline selector (no API key)",
    )
    if metrics_port is not None:
        log.info("metrics at http://%s:%d/metrics", host, metrics_port)


def _add_services(
    server: aio.Server,
    config: ServerConfig,
    *,
    registry: AgentRegistry,
    router: Router,
    sessions: SessionStore,
    leases: LeaseKeeper,
) -> tuple[health_aio.HealthServicer, SessionServicer]:
    """Adds the three services and health to `server`; returns the health and session servicers."""
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(
        RegistryServicer(registry, router, leases), server
    )
    limits = InvocationLimits(router.config.agent_timeout_s, config.max_agent_output_bytes)
    router_service_pb2_grpc.add_RouterServiceServicer_to_server(
        RouterServicer(router, sessions, limits), server
    )
    session_servicer = _session_servicer(config, sessions)
    session_service_pb2_grpc.add_SessionServiceServicer_to_server(session_servicer, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    return health, session_servicer


def _agent_host(config: ServerConfig) -> tuple[AgentHost, AgentSessionListener]:
    """Where agents run, and the socket through which ADK agents keep their sessions in the registry."""
    agent_sessions = AgentSessionListener()
    host = AgentHost(
        config.agent_modules, config.agent_workers, config.max_agent_output_bytes, agent_sessions.access
    )
    return host, agent_sessions


async def _stop_agents(agent_host: AgentHost, agent_sessions: AgentSessionListener) -> None:
    """Stops the agent workers, then the agent-session socket they used."""
    await agent_host.stop()
    await agent_sessions.stop(0)


def _session_servicer(config: ServerConfig, sessions: SessionStore) -> SessionServicer:
    """The SessionService, served on the public port and on the agent-session socket."""
    return SessionServicer(
        sessions,
        max_content_bytes=config.max_content_bytes,
        retention=timedelta(days=config.session_retention_days),
        max_event_bytes=config.max_event_bytes,
    )


def _unavailable_count(registry: AgentRegistry) -> int:
    return sum(1 for agent in registry.agents() if agent.state is AgentState.UNAVAILABLE)


def _probe_settings(config: ServerConfig) -> ProbeSettings:
    return ProbeSettings(
        interval_s=config.probe_interval_s,
        timeout_s=config.probe_timeout_s,
        failures_to_unavailable=config.probe_failures,
        max_backoff_s=config.probe_max_backoff_s,
    )


def _gemini(routing: RoutingConfig) -> GeminiSelector | None:
    if not routing.gemini_api_key:
        return None
    return GeminiSelector(
        routing.gemini_api_key, routing.gemini_model, routing.stage2_timeout_s, routing.gemini_base_url
    )


def _listen(server: aio.Server, host: str, port: int, credentials: grpc.ServerCredentials | None) -> int:
    address = f"{host}:{port}"
    try:
        if credentials is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, credentials))
    except RuntimeError as error:
        raise OSError(
            f"could not listen on {host}:{port} ({error}); is another server using the port?"
        ) from error


def _check_exposure(config: ServerConfig, authenticator: TokenAuthenticator | None) -> None:
    """Refuses an unauthenticated server on a non-loopback address unless allowed; says so either way."""
    if authenticator is not None:
        log.info("authentication on: %d tokens from %s", len(authenticator), config.auth_config_file)
        return
    if not _is_loopback(config.host) and not config.allow_unauthenticated:
        raise UnsafeListenError(
            f"refusing to listen on {config.host} without authentication: give --auth-config, listen on "
            "127.0.0.1, or pass --allow-unauthenticated if the network is trusted"
        )
    log.warning("authentication is off: every caller is trusted (give --auth-config to require tokens)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _tls_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """Server TLS credentials, requiring client certificates when a client CA is given."""
    if not config.tls_cert_file or not config.tls_key_file:
        return None
    try:
        key, cert = config.tls_key_file.read_bytes(), config.tls_cert_file.read_bytes()
        client_ca = config.tls_client_ca_file.read_bytes() if config.tls_client_ca_file else None
    except OSError as error:
        raise OSError(f"cannot read the TLS files: {error}") from error
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


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
