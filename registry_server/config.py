"""Server configuration from command-line flags and AGENT_REGISTRY_* environment variables."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from registry_server.agents.module_allowlist import SHIPPED_AGENT_PACKAGES, ModuleAllowlist
from registry_server.routing.config import RoutingConfig, load_routing_config

ENV_PREFIX = "AGENT_REGISTRY_"
DEFAULTS_FILE_NAME = "default_registry.yaml"


def shipped_defaults_file() -> Path:
    """The default_registry.yaml shipped inside the package."""
    return Path(str(resources.files("registry_server") / "defaults" / DEFAULTS_FILE_NAME))


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
    database_url: str = field(default="", repr=False)
    log_format: str = "text"
    metrics_port: int | None = None
    max_concurrent_rpcs: int = 1000
    handshake_timeout_s: float = 10.0
    max_connection_idle_s: float = 300.0
    max_connection_age_s: float = 3600.0
    max_connection_age_grace_s: float = 60.0
    keepalive_time_s: float = 60.0
    keepalive_timeout_s: float = 20.0
    min_client_ping_interval_s: float = 10.0
    trace_exporter: str | None = None
    max_event_bytes: int = 2 * 1024 * 1024
    agent_modules: tuple[str, ...] = SHIPPED_AGENT_PACKAGES
    agent_workers: int = 2
    max_agent_output_bytes: int = 256 * 1024
    probe_interval_s: float = 5.0
    probe_timeout_s: float = 2.0
    probe_failures: int = 3
    probe_max_backoff_s: float = 60.0

    def routing(self) -> RoutingConfig:
        """The routing settings: defaults, then the routing config file, then flags and variables."""
        routing = load_routing_config(self.routing_config_file, RoutingConfig())
        overrides: dict[str, Any] = {
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
        """The defaults file: as configured, else the one shipped in the package."""
        return self.defaults_file or shipped_defaults_file()


@dataclass(frozen=True)
class Flag:
    """One setting: its flag, the ServerConfig field it sets, how to read it, and its help."""

    name: str
    field: str
    type: Callable[[str], Any]
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def variable(self) -> str:
        """Its environment variable: AGENT_REGISTRY_ and the flag in upper case."""
        return ENV_PREFIX + self.name.removeprefix("--").upper().replace("-", "_")


def _module_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


FLAGS = (
    Flag("--host", "host", str, "address to listen on"),
    Flag("--port", "port", int, "port; 0 picks a free one"),
    Flag("--data-dir", "data_dir", Path, "directory of registry_config.json and sessions.db"),
    Flag(
        "--defaults-file",
        "defaults_file",
        Path,
        "agents to start with when there is no registry file; default: the demo agents in the package",
    ),
    Flag("--log-level", "log_level", str.upper, "logging level", ("DEBUG", "INFO", "WARNING", "ERROR")),
    Flag("--shutdown-grace", "shutdown_grace_s", float, "seconds in-flight RPCs get to finish on SIGTERM"),
    Flag(
        "--session-retention-days",
        "session_retention_days",
        float,
        "completed and abandoned sessions are purged this long after their last update",
    ),
    Flag("--retention-interval", "retention_interval_s", float, "seconds between background purges"),
    Flag(
        "--max-content-bytes", "max_content_bytes", int, "largest history content, query or response accepted"
    ),
    Flag(
        "--sqlite-busy-timeout-ms",
        "sqlite_busy_timeout_ms",
        int,
        "how long SQLite waits for a lock before the 100/200/400 ms retries",
    ),
    Flag(
        "--routing-config",
        "routing_config_file",
        Path,
        "YAML file of routing settings (weights, thresholds, model, deadlines)",
    ),
    Flag(
        "--gemini-model",
        "gemini_model",
        str,
        "Gemini model for stage 2; the key comes from GOOGLE_API_KEY or GEMINI_API_KEY",
    ),
    Flag("--gemini-base-url", "gemini_base_url", str, "Gemini API endpoint, for proxies and tests"),
    Flag(
        "--stage2-timeout",
        "stage2_timeout_s",
        float,
        "seconds Gemini gets before the offline selector decides",
    ),
    Flag("--agent-timeout", "agent_timeout_s", float, "seconds each invoked agent gets"),
    Flag(
        "--auth-config", "auth_config_file", Path, "YAML file of bearer tokens (SHA-256 only) and their roles"
    ),
    Flag(
        "--allow-unauthenticated",
        "allow_unauthenticated",
        _truthy,
        "listen on a non-loopback address without an auth config (true/false)",
    ),
    Flag(
        "--tls-cert",
        "tls_cert_file",
        Path,
        "PEM certificate chain; with --tls-key the server speaks TLS only",
    ),
    Flag("--tls-key", "tls_key_file", Path, "PEM private key of --tls-cert"),
    Flag(
        "--tls-client-ca",
        "tls_client_ca_file",
        Path,
        "PEM CA bundle; clients must present a certificate it signed (mTLS)",
    ),
    Flag("--max-message-bytes", "max_message_bytes", int, "largest request accepted, in bytes"),
    Flag(
        "--database-url",
        "database_url",
        str,
        "postgresql://user:password@host:port/db: the registry in PostgreSQL, shared by every instance "
        "(unset: the embedded stores in --data-dir)",
    ),
    Flag(
        "--log-format", "log_format", str.lower, "log lines as text or one JSON object each", ("text", "json")
    ),
    Flag("--metrics-port", "metrics_port", int, "serve Prometheus metrics at http://HOST:PORT/metrics"),
    Flag(
        "--trace-exporter",
        "trace_exporter",
        str.lower,
        "OpenTelemetry spans per RPC and agent call, to the console or OTLP (needs the otel extra)",
        ("console", "otlp"),
    ),
    Flag(
        "--max-concurrent-rpcs",
        "max_concurrent_rpcs",
        int,
        "RPCs served at once; more are refused with RESOURCE_EXHAUSTED",
    ),
    Flag(
        "--handshake-timeout",
        "handshake_timeout_s",
        float,
        "seconds a new connection gets to finish its TLS/HTTP2 handshake before it is closed",
    ),
    Flag(
        "--max-connection-idle",
        "max_connection_idle_s",
        float,
        "seconds a connection may carry no RPC before the server closes it (GOAWAY)",
    ),
    Flag(
        "--max-connection-age",
        "max_connection_age_s",
        float,
        "seconds after which a connection is asked to reconnect, so load spreads and sockets are recycled",
    ),
    Flag(
        "--max-connection-age-grace",
        "max_connection_age_grace_s",
        float,
        "seconds RPCs of an aged connection get to finish before it is closed",
    ),
    Flag(
        "--keepalive-time",
        "keepalive_time_s",
        float,
        "seconds of silence after which the server pings a client to see it is alive",
    ),
    Flag(
        "--keepalive-timeout",
        "keepalive_timeout_s",
        float,
        "seconds a client gets to answer a keepalive ping before its connection is closed",
    ),
    Flag(
        "--min-client-ping-interval",
        "min_client_ping_interval_s",
        float,
        "clients pinging more often than this are disconnected (GOAWAY too_many_pings)",
    ),
    Flag(
        "--max-event-bytes", "max_event_bytes", int, "largest session event accepted (AppendEvent), in bytes"
    ),
    Flag(
        "--agent-modules",
        "agent_modules",
        _module_list,
        "comma-separated module prefixes agent factories may be imported from; any other is refused",
    ),
    Flag(
        "--agent-workers",
        "agent_workers",
        int,
        "worker processes that host in-process agents; 0 runs agent code in the server (unfenced)",
    ),
    Flag(
        "--max-agent-output-bytes",
        "max_agent_output_bytes",
        int,
        "largest answer kept from one agent in one turn; the rest is cut with a note",
    ),
    Flag("--probe-interval", "probe_interval_s", float, "seconds between health probes of each remote agent"),
    Flag("--probe-timeout", "probe_timeout_s", float, "seconds a remote agent gets to answer a probe"),
    Flag(
        "--probe-failures",
        "probe_failures",
        int,
        "failed probes in a row that make a remote agent UNAVAILABLE",
    ),
    Flag(
        "--probe-max-backoff",
        "probe_max_backoff_s",
        float,
        "longest wait between probes of an unavailable remote agent, in seconds",
    ),
)


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-registry",
        description="Agent Registry gRPC server. Each flag can also be set by its AGENT_REGISTRY_* variable.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {server_version()}")
    defaults = ServerConfig()
    for flag in FLAGS:
        default = getattr(defaults, flag.field)
        # argparse converts a string default with `type`, so a bad variable is reported like a bad flag.
        options: dict[str, Any] = {
            "dest": flag.field,
            "type": flag.type,
            "choices": flag.choices,
            "default": environ.get(flag.variable, default),
        }
        options["metavar"] = flag.name.removeprefix("--").upper().replace("-", "_")
        if flag.type is _truthy:
            options.update(nargs="?", const=True, metavar="true|false")
        shown = "" if default in (None, "") else f"; default {default}"
        parser.add_argument(flag.name, help=f"{flag.help}{shown} ({flag.variable})", **options)
    return parser


def server_version() -> str:
    """The installed version of the agent-registry distribution."""
    try:
        return importlib.metadata.version("agent-registry")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def parse_config(argv: Sequence[str] | None, environ: Mapping[str, str]) -> ServerConfig:
    """Builds the configuration; flags win over environment variables, which win over defaults."""
    values = vars(_parser(environ).parse_args(argv))
    config = ServerConfig(
        **values, gemini_api_key=environ.get("GOOGLE_API_KEY") or environ.get("GEMINI_API_KEY") or ""
    )
    problem = _problem(config)
    if problem:
        raise SystemExit(problem)
    return config


def _problem(config: ServerConfig) -> str | None:
    """What makes the configuration unusable, or None."""
    if not 0 <= config.port <= 65535:
        return f"--port must be 0-65535, got {config.port}"
    if config.session_retention_days <= 0 or config.retention_interval_s <= 0:
        return "--session-retention-days and --retention-interval must be positive"
    if bool(config.tls_cert_file) != bool(config.tls_key_file):
        return "--tls-cert and --tls-key go together"
    if config.tls_client_ca_file and not config.tls_cert_file:
        return "--tls-client-ca needs --tls-cert and --tls-key (mTLS is TLS with client certificates)"
    if config.max_message_bytes < 1024:
        return "--max-message-bytes must be at least 1024"
    if config.database_url and not config.database_url.startswith(("postgresql://", "postgres://")):
        return "--database-url must be a postgresql:// URL (leave it unset for the embedded stores)"
    if min(config.probe_interval_s, config.probe_timeout_s, config.probe_max_backoff_s) <= 0:
        return "--probe-interval, --probe-timeout and --probe-max-backoff must be positive"
    if config.probe_failures < 1:
        return "--probe-failures must be at least 1"
    if config.max_content_bytes < 1 or config.sqlite_busy_timeout_ms < 0:
        return "--max-content-bytes must be positive and --sqlite-busy-timeout-ms not negative"
    if config.metrics_port is not None and not 0 <= config.metrics_port <= 65535:
        return f"--metrics-port must be 0-65535, got {config.metrics_port}"
    if config.max_concurrent_rpcs < 1:
        return "--max-concurrent-rpcs must be at least 1"
    return _connection_problem(config) or _agent_problem(config)


def _connection_problem(config: ServerConfig) -> str | None:
    """What is wrong with the connection limits, or None."""
    limits = {
        "--handshake-timeout": config.handshake_timeout_s,
        "--max-connection-idle": config.max_connection_idle_s,
        "--max-connection-age": config.max_connection_age_s,
        "--max-connection-age-grace": config.max_connection_age_grace_s,
        "--keepalive-time": config.keepalive_time_s,
        "--keepalive-timeout": config.keepalive_timeout_s,
        "--min-client-ping-interval": config.min_client_ping_interval_s,
    }
    for flag, seconds in limits.items():
        if not 0 < seconds < 10**7:
            return f"{flag} must be a positive number of seconds, got {seconds}"
    return None


def _agent_problem(config: ServerConfig) -> str | None:
    """What makes the agent settings unusable, or None."""
    if not 0 <= config.agent_workers <= 64:
        return f"--agent-workers must be 0-64, got {config.agent_workers}"
    if config.max_agent_output_bytes < 1024:
        return "--max-agent-output-bytes must be at least 1024"
    try:
        ModuleAllowlist(config.agent_modules)
    except ValueError as error:
        return f"--agent-modules: {error}"
    return None
