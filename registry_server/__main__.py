"""Entry point: `agent-registry [flags]` (or `python -m registry_server`); runs until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from registry_server.auth.tokens import AuthConfigError
from registry_server.config import ServerConfig, parse_config
from registry_server.domain.errors import StorageUnavailableError
from registry_server.log_output import configure_logging
from registry_server.postgres.migrations import SchemaTooNewError as PostgresSchemaTooNewError
from registry_server.registry.file_store import DefaultsFileError
from registry_server.routing.config import RoutingConfigError
from registry_server.routing.embedder import EmbeddingModelError
from registry_server.server import UnsafeListenError, start_server
from registry_server.sessions.schema import SchemaTooNewError
from registry_server.tracing import RpcTracer, TracingUnavailableError, configure_tracing

log = logging.getLogger("registry_server")


async def serve(config: ServerConfig, tracer: RpcTracer | None) -> None:
    """Starts the server and stops it gracefully on the first SIGTERM or SIGINT."""
    running = await start_server(config, tracer)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop_requested.set)
    await stop_requested.wait()
    log.info("shutdown requested; draining for up to %.1f s", config.shutdown_grace_s)
    await running.stop()


def main(argv: list[str] | None = None) -> None:
    """Parses the configuration and runs the server (or, with `migrate`, copies a data dir to PostgreSQL)."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["migrate"]:
        from registry_server import migrate  # only this subcommand needs it (and asyncpg)

        migrate.main(arguments[1:])
        return
    config = parse_config(argv, os.environ)
    log_output = configure_logging(config.log_level, config.log_format)
    try:
        tracer = configure_tracing(config.trace_exporter) if config.trace_exporter else None
        asyncio.run(serve(config, tracer))
    except (
        DefaultsFileError,
        SchemaTooNewError,
        RoutingConfigError,
        EmbeddingModelError,
        AuthConfigError,
        UnsafeListenError,
        StorageUnavailableError,
        PostgresSchemaTooNewError,
        TracingUnavailableError,
        OSError,
    ) as exc:
        log.error("cannot start: %s", exc)
        log_output.close()
        sys.exit(1)
    log_output.close()


if __name__ == "__main__":
    main()
