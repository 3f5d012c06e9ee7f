"""Server configuration from command-line flags and AGENT_REGISTRY_* environment variables."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from registry_server.log_output import BufferedStreamHandler
from registry_server.routing.config import RoutingConfig, load_routing_config

ENV_PREFIX = "AGENT_REGISTRY_"
DEFAULTS_FILE_NAME = "default_registry.yaml"


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs to start."""

    host: str = "127.0.0.1"
    port: int = 8003
    data_dir: Path = Path("data")
    defaults_file: Path | None = None
    log_level: str = "INFO"
    shutdown_grace_s: float = 5.0
    session_retention_days: float = 7.0
    retention_interval_s: float = 3600.0
    max_content_bytes: int = 256 * 1024
    sqlite_busy_timeout_ms: int = 1000
    routing_config_file: Path | None = None
    gemini_model: str | None = None
    gemini_base_url: str | None = None
    stage2_timeout_s: float | None = None
    agent_timeout_s: float | None = None
    gemini_api_key: str = field(default="", repr=False)
    auth_config_file: Path | None = None
    allow_unauthenticated: bool = False
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    max_message_bytes: int = 4 * 1024 * 1024

    def routing(self) -> RoutingConfig:
        """The routing settings: defaults, then the routing config file, then flags and variables."""
        routing = load_routing_config(self.routing_config_file, RoutingConfig())
        overrides = {
            "gemini_model": self.gemini_model,
            "gemini_base_url": self.gemini_base_url,
            "stage2_timeout_s": self.stage2_timeout_s,
            "agent_timeout_s": self.agent_timeout_s,
        }
        return replace(
            routing,
            gemini_api_key=self.gemini_api_key,
            **{key: value for key, value in overrides.items() if value is not None},
        )

    @property
    def resolved_defaults_file(self) -> Path:
        """The defaults file: as configured, else `<data-dir>/default_registry.yaml`."""
        return self.defaults_file or self.data_dir / DEFAULTS_FILE_NAME


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    def env(name: str, default: str | None) -> str | None:
        return environ.get(ENV_PREFIX + name, default)

    parser = argparse.ArgumentParser(
        prog="python -m registry_server",
        description="Agent Registry gRPC server. Every flag can also be set as AGENT_REGISTRY_<FLAG>.",
    )
    parser.add_argument(
        "--host", default=env("HOST", "127.0.0.1"), help="address to listen on (AGENT_REGISTRY_HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("PORT", "8003") or 8003),
        help="port; 0 picks a free one (AGENT_REGISTRY_PORT)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("DATA_DIR", "data") or "data"),
        help="directory of registry_config.json and sessions.db (AGENT_REGISTRY_DATA_DIR)",
    )
    parser.add_argument(
        "--defaults-file",
        type=Path,
        default=env("DEFAULTS_FILE", None),
        help="agents to start with when there is no registry file; default <data-dir>/default_registry.yaml "
        "(AGENT_REGISTRY_DEFAULTS_FILE)",
    )
    parser.add_argument(
        "--log-level",
        default=env("LOG_LEVEL", "INFO"),
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (AGENT_REGISTRY_LOG_LEVEL)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=float(env("SHUTDOWN_GRACE", "5") or 5),
        help="seconds in-flight RPCs get to finish on SIGTERM (AGENT_REGISTRY_SHUTDOWN_GRACE)",
    )
    parser.add_argument(
        "--session-retention-days",
        type=float,
        default=float(env("SESSION_RETENTION_DAYS", "7") or 7),
        help="completed and abandoned sessions are purged this long after their last update "
        "(AGENT_REGISTRY_SESSION_RETENTION_DAYS)",
    )
    parser.add_argument(
        "--retention-interval",
        type=float,
        default=float(env("RETENTION_INTERVAL", "3600") or 3600),
        help="seconds between background purges (AGENT_REGISTRY_RETENTION_INTERVAL)",
    )
    parser.add_argument(
        "--max-content-bytes",
        type=int,
        default=int(env("MAX_CONTENT_BYTES", str(256 * 1024)) or 0),
        help="largest history content, query or response accepted (AGENT_REGISTRY_MAX_CONTENT_BYTES)",
    )
    parser.add_argument(
        "--sqlite-busy-timeout-ms",
        type=int,
        default=int(env("SQLITE_BUSY_TIMEOUT_MS", "1000") or 0),
        help="how long SQLite waits for a lock before the 100/200/400 ms retries "
        "(AGENT_REGISTRY_SQLITE_BUSY_TIMEOUT_MS)",
    )
    parser.add_argument(
        "--routing-config",
        type=Path,
        default=env("ROUTING_CONFIG", None),
        help="YAML file of routing settings: weights, context_boost, min_score, top_k, multi_agent_margin, "
        "gemini_model, stage2_timeout_s, agent_timeout_s, max_query_chars (AGENT_REGISTRY_ROUTING_CONFIG)",
    )
    parser.add_argument(
        "--gemini-model",
        default=env("GEMINI_MODEL", None),
        help="Gemini model for stage 2 (AGENT_REGISTRY_GEMINI_MODEL); the key comes from GOOGLE_API_KEY or "
        "GEMINI_API_KEY, and without one the offline selector decides",
    )
    parser.add_argument(
        "--gemini-base-url",
        default=env("GEMINI_BASE_URL", None),
        help="Gemini API endpoint, for proxies and tests (AGENT_REGISTRY_GEMINI_BASE_URL)",
    )
    parser.add_argument(
        "--stage2-timeout",
        type=float,
        default=_optional_float(env("STAGE2_TIMEOUT", None)),
        help="seconds Gemini gets before the offline selector decides; default 3 "
        "(AGENT_REGISTRY_STAGE2_TIMEOUT)",
    )
    parser.add_argument(
        "--agent-timeout",
        type=float,
        default=_optional_float(env("AGENT_TIMEOUT", None)),
        help="seconds each invoked agent gets; default 30 (AGENT_REGISTRY_AGENT_TIMEOUT)",
    )
    parser.add_argument(
        "--auth-config",
        type=Path,
        default=env("AUTH_CONFIG", None),
        help="YAML file of bearer tokens (SHA-256 only) and their roles; without it every caller is trusted "
        "(AGENT_REGISTRY_AUTH_CONFIG)",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=(env("ALLOW_UNAUTHENTICATED", "") or "").lower() in {"1", "true", "yes"},
        help="listen on a non-loopback address without an auth config (AGENT_REGISTRY_ALLOW_UNAUTHENTICATED)",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        default=env("TLS_CERT", None),
        help="PEM certificate chain; with --tls-key the server speaks TLS only (AGENT_REGISTRY_TLS_CERT)",
    )
    parser.add_argument(
        "--tls-key",
        type=Path,
        default=env("TLS_KEY", None),
        help="PEM private key of --tls-cert (AGENT_REGISTRY_TLS_KEY)",
    )
    parser.add_argument(
        "--tls-client-ca",
        type=Path,
        default=env("TLS_CLIENT_CA", None),
        help="PEM CA bundle; clients must present a certificate it signed (mTLS) "
        "(AGENT_REGISTRY_TLS_CLIENT_CA)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=int(env("MAX_MESSAGE_BYTES", str(4 * 1024 * 1024)) or 0),
        help="largest request accepted, in bytes; default 4 MiB (AGENT_REGISTRY_MAX_MESSAGE_BYTES)",
    )
    return parser


def _optional_float(value: str | None) -> float | None:
    return float(value) if value else None


def parse_config(argv: Sequence[str] | None, environ: Mapping[str, str]) -> ServerConfig:
    """Builds the configuration; flags win over environment variables, which win over defaults."""
    args = _parser(environ).parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise SystemExit(f"--port must be 0-65535, got {args.port}")
    if args.session_retention_days <= 0 or args.retention_interval <= 0:
        raise SystemExit("--session-retention-days and --retention-interval must be positive")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise SystemExit(
            "--tls-client-ca needs --tls-cert and --tls-key (mTLS is TLS with client certificates)"
        )
    if args.max_message_bytes < 1024:
        raise SystemExit("--max-message-bytes must be at least 1024")
    if args.max_content_bytes < 1 or args.sqlite_busy_timeout_ms < 0:
        raise SystemExit("--max-content-bytes must be positive and --sqlite-busy-timeout-ms not negative")
    return ServerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        defaults_file=Path(args.defaults_file) if args.defaults_file else None,
        log_level=args.log_level,
        shutdown_grace_s=args.shutdown_grace,
        session_retention_days=args.session_retention_days,
        retention_interval_s=args.retention_interval,
        max_content_bytes=args.max_content_bytes,
        sqlite_busy_timeout_ms=args.sqlite_busy_timeout_ms,
        routing_config_file=args.routing_config,
        gemini_model=args.gemini_model,
        gemini_base_url=args.gemini_base_url,
        stage2_timeout_s=args.stage2_timeout,
        agent_timeout_s=args.agent_timeout,
        gemini_api_key=environ.get("GOOGLE_API_KEY") or environ.get("GEMINI_API_KEY") or "",
        auth_config_file=args.auth_config,
        allow_unauthenticated=args.allow_unauthenticated,
        tls_cert_file=args.tls_cert,
        tls_key_file=args.tls_key,
        tls_client_ca_file=args.tls_client_ca,
        max_message_bytes=args.max_message_bytes,
    )


def configure_logging(level: str) -> logging.Handler:
    """One line per event on stderr: time, level, logger, message. Close the handler at exit to flush."""
    handler = BufferedStreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level))
    return handler
