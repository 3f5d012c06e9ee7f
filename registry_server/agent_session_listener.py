"""The agent-session socket: SessionService on a Unix socket in a private directory, for the server's agents.

ADK agents keep their sessions in the registry through it, whatever the public address, TLS or mTLS setup.
It accepts only the token minted for the agent workers at start-up (never a token of the auth config, with
or without authentication on the public port), whose role may call only the SessionService methods an ADK
session service needs. The directory is mode 0700, so other local users cannot reach the socket at all.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from grpc import aio

from agentregistry.v1 import session_service_pb2_grpc
from registry_server.agents.session_access import SessionAccess
from registry_server.api.interceptor import RpcInterceptor
from registry_server.api.session_servicer import SessionServicer
from registry_server.auth.worker_credential import mint_worker_credential
from registry_server.config import ServerConfig
from registry_server.connection_limits import channel_options

log = logging.getLogger(__name__)

SOCKET_NAME = "sessions.sock"


class AgentSessionListener:
    """Owns the private directory, the socket in it and the workers' token; `access` is what agents get."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="agent-registry-"))  # created with mode 0700
        token, self._authenticator = mint_worker_credential()
        self.access = SessionAccess(f"unix:{self.directory / SOCKET_NAME}", token)
        self._server: aio.Server | None = None

    async def start(self, sessions: SessionServicer, config: ServerConfig) -> None:
        """Serves `sessions` on the socket."""
        interceptor = RpcInterceptor(self._authenticator, max_concurrent_rpcs=config.max_concurrent_rpcs)
        server = aio.server(interceptors=[interceptor], options=channel_options(config))
        session_service_pb2_grpc.add_SessionServiceServicer_to_server(sessions, server)
        try:
            server.add_insecure_port(self.access.address)
        except RuntimeError as error:
            raise OSError(
                f"could not listen on the agent-session socket in {self.directory}: {error}"
            ) from error
        await server.start()
        self._server = server
        log.info("agent sessions served on %s", self.access.address)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stops serving and removes the socket and its directory."""
        if self._server is not None:
            await self._server.stop(grace_s)
            self._server = None
        shutil.rmtree(self.directory, ignore_errors=True)
