"""Connection limits: handshake, idle and age timeouts, keepalive enforcement, and the file-descriptor budget.

Each connection holds one file descriptor; silent sockets are closed after the handshake timeout and idle ones
after the idle timeout, so a flood of idle connections cannot exhaust the budget for long.
"""

from __future__ import annotations

import logging
import resource

from registry_server.config import ServerConfig

log = logging.getLogger(__name__)
# Descriptors the server keeps for itself (data files, SQLite, logs, metrics, event loop) beyond connections.
RESERVED_FILE_DESCRIPTORS = 64


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def channel_options(config: ServerConfig) -> list[tuple[str, int]]:
    """The grpc core options that bound connections, messages and pings."""
    return [
        # Without SO_REUSEPORT a second server on the same port fails loudly instead of sharing the traffic.
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.server_handshake_timeout_ms", _ms(config.handshake_timeout_s)),
        ("grpc.max_connection_idle_ms", _ms(config.max_connection_idle_s)),
        ("grpc.max_connection_age_ms", _ms(config.max_connection_age_s)),
        ("grpc.max_connection_age_grace_ms", _ms(config.max_connection_age_grace_s)),
        ("grpc.keepalive_time_ms", _ms(config.keepalive_time_s)),
        ("grpc.keepalive_timeout_ms", _ms(config.keepalive_timeout_s)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", _ms(config.min_client_ping_interval_s)),
        ("grpc.http2.max_ping_strikes", 2),
    ]


def raise_file_descriptor_limit() -> tuple[int, int]:
    """Raises the soft RLIMIT_NOFILE to the hard limit; returns (soft, hard) as they now stand."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, error)
    return soft, hard


def log_file_descriptor_budget(config: ServerConfig) -> None:
    """Raises the open-file limit as far as allowed and states what it leaves for connections."""
    soft, _ = raise_file_descriptor_limit()
    connections = max(0, soft - RESERVED_FILE_DESCRIPTORS)
    log.info(
        "file descriptors: %d, about %d for connections; silent sockets close after %.0f s, idle connections "
        "after %.0f s; at most %d concurrent RPCs",
        soft,
        connections,
        config.handshake_timeout_s,
        config.max_connection_idle_s,
        config.max_concurrent_rpcs,
    )
