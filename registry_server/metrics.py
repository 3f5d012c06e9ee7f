"""The service's Prometheus metrics, defined once, and the small functions the layers call to move them.

RPC metrics use the names of go-grpc-prometheus / py-grpc-prometheus, so existing dashboards work unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")

RPC_STARTED = Counter(
    "grpc_server_started_total", "RPCs started on the server.", _RPC_LABELS, registry=REGISTRY
)
RPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, whatever their status code.",
    (*_RPC_LABELS, "grpc_code"),
    registry=REGISTRY,
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time the server took to handle an RPC, until its status was sent.",
    _RPC_LABELS,
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
AGENT_INVOCATIONS = Counter(
    "agent_invocations_total",
    "Agent invocations by outcome (success, error, timeout, cancelled).",
    ("agent", "outcome"),
    registry=REGISTRY,
)
AGENT_SECONDS = Histogram(
    "agent_invocation_seconds",
    "Time an agent took to answer.",
    ("agent",),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
STAGE2_OUTCOMES = Counter(
    "routing_stage2_total",
    "Stage-2 decisions by how they were made (skipped, llm, fallback).",
    ("outcome",),
    registry=REGISTRY,
)
GROUP_COMMIT_BATCH = Histogram(
    "store_group_commit_batch_size",
    "Writes committed together in one transaction or fsync.",
    ("store",),
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
    registry=REGISTRY,
)
REGISTRY_AGENTS = Gauge("registry_agents", "Agents in the registry.", registry=REGISTRY)
REGISTRY_UNAVAILABLE = Gauge(
    "registry_agents_unavailable",
    "Agents whose factory or endpoint failed (routing skips them).",
    registry=REGISTRY,
)
RPC_REFUSED_LOG_SUPPRESSED = Counter(
    "log_lines_suppressed_total",
    "Log lines left out by rate limiting, by kind (auth_failure, cancelled).",
    ("kind",),
    registry=REGISTRY,
)


@dataclass(frozen=True)
class RpcMetrics:
    """The metric children of one method, resolved once so an RPC pays no label lookup."""

    started: Callable[[], None]
    seconds: Callable[[float], None]
    method_labels: tuple[str, str, str]

    def handled(self, code: str) -> None:
        """Counts one RPC finished with `code`."""
        _handled_child(*self.method_labels, code).inc()


@lru_cache(maxsize=4096)
def _handled_child(grpc_type: str, service: str, method: str, code: str) -> Counter:
    return RPC_HANDLED.labels(grpc_type, service, method, code)


def rpc_metrics(full_method: str, grpc_type: str) -> RpcMetrics:
    """The metrics of `/package.Service/Method` called as `grpc_type` (unary, server_stream, ...)."""
    service, _, method = full_method.strip("/").partition("/")
    labels = (grpc_type, service, method)
    return RpcMetrics(RPC_STARTED.labels(*labels).inc, RPC_SECONDS.labels(*labels).observe, labels)


def record_agent_invocation(agent: str, outcome: str, seconds: float) -> None:
    """Counts one invocation of `agent` ending in `outcome` (success, error, timeout, cancelled)."""
    AGENT_INVOCATIONS.labels(agent, outcome).inc()
    AGENT_SECONDS.labels(agent).observe(seconds)


def record_stage2(outcome: str) -> None:
    """Counts one stage-2 decision: skipped, llm or fallback."""
    STAGE2_OUTCOMES.labels(outcome.lower()).inc()


def record_commit_batch(store: str, size: int) -> None:
    """Records how many writes one group commit of `store` (sessions, registry) carried."""
    GROUP_COMMIT_BATCH.labels(store).observe(size)


def track_registry(size: Callable[[], int], unavailable: Callable[[], int]) -> None:
    """Makes the registry gauges read the live registry at each scrape."""
    REGISTRY_AGENTS.set_function(lambda: float(size()))
    REGISTRY_UNAVAILABLE.set_function(lambda: float(unavailable()))


def count_suppressed_log_lines(kind: str, count: int) -> None:
    """Counts log lines a rate limit left out."""
    RPC_REFUSED_LOG_SUPPRESSED.labels(kind).inc(count)


def serve_metrics(host: str, port: int) -> tuple[Callable[[], None], int]:
    """Serves /metrics on host:port in a thread; returns how to stop it and the bound port."""
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop, server.server_port
