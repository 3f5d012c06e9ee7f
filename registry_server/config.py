"""Server configuration from command-line flags and AGENT_REGISTRY_* environment variables."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
    probe_interval_s: float = 5.0
    probe_timeout_s: float = 2.0
    probe_failures: int = 3
    probe_max_backoff_s: float = 60.0

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
        "agents to start with when there is no registry file; default <data-dir>/default_registry.yaml",
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
        prog="python -m registry_server",
        description="Agent Registry gRPC server. Each flag can also be set by its AGENT_REGISTRY_* variable.",
    )
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
    if min(config.probe_interval_s, config.probe_timeout_s, config.probe_max_backoff_s) <= 0:
        return "--probe-interval, --probe-timeout and --probe-max-backoff must be positive"
    if config.probe_failures < 1:
        return "--probe-failures must be at least 1"
    if config.max_content_bytes < 1 or config.sqlite_busy_timeout_ms < 0:
        return "--max-content-bytes must be positive and --sqlite-busy-timeout-ms not negative"
    return None


def configure_logging(level: str) -> logging.Handler:
    """One line per event on stderr: time, level, logger, message. Close the handler at exit to flush."""
    handler = BufferedStreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level))
    return handler
