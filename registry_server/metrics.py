"""The service's Prometheus metrics, defined once, and the small functions the layers call to move them.

RPC metrics use the names of go-grpc-prometheus / py-grpc-prometheus, so existing dashboards work unchanged.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RPC_LABELS = ["grpc_type", "grpc_service", "grpc_method"]


class RpcMetrics:
    """The RPC figures of one method, kept as plain numbers on the event loop and read at each scrape.

    Updating prometheus-client metric objects takes a lock per sample; on the hot path of a cheap RPC that was
    a measurable share of its cost, so the RPC figures are collected, not pushed.
    """

    __slots__ = ("buckets", "count", "handled_by_code", "labels", "seconds_sum", "started_count")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.started_count = 0
        self.handled_by_code: dict[str, int] = {}
        self.buckets = [0] * (len(_LATENCY_BUCKETS) + 1)
        self.count = 0
        self.seconds_sum = 0.0

    def started(self) -> None:
        """Counts one RPC started."""
        self.started_count += 1

    def seconds(self, elapsed_s: float) -> None:
        """Records one RPC's handling time."""
        self.buckets[bisect.bisect_left(_LATENCY_BUCKETS, elapsed_s)] += 1
        self.count += 1
        self.seconds_sum += elapsed_s

    def handled(self, code: str) -> None:
        """Counts one RPC finished with `code`."""
        self.handled_by_code[code] = self.handled_by_code.get(code, 0) + 1


class _RpcCollector(Collector):
    """Exports every method's RpcMetrics under the names of go-grpc-prometheus."""

    def __init__(self) -> None:
        self.methods: dict[tuple[str, str, str], RpcMetrics] = {}

    def collect(self) -> Iterator[Metric]:
        """The grpc_server_* families, read from the live figures."""
        started = CounterMetricFamily(
            "grpc_server_started", "RPCs started on the server.", labels=_RPC_LABELS
        )
        handled = CounterMetricFamily(
            "grpc_server_handled",
            "RPCs completed on the server, whatever their status code.",
            labels=[*_RPC_LABELS, "grpc_code"],
        )
        seconds = HistogramMetricFamily(
            "grpc_server_handling_seconds",
            "Time the server took to handle an RPC, until its status was sent.",
            labels=_RPC_LABELS,
        )
        for labels, figures in list(self.methods.items()):
            started.add_metric(list(labels), figures.started_count)
            for code, count in list(figures.handled_by_code.items()):
                handled.add_metric([*labels, code], count)
            cumulative = list(itertools.accumulate(figures.buckets))
            bounds = [*(str(bound) for bound in _LATENCY_BUCKETS), "+Inf"]
            seconds.add_metric(list(labels), list(zip(bounds, cumulative, strict=True)), figures.seconds_sum)
        yield from (started, handled, seconds)


_RPC_COLLECTOR = _RpcCollector()
REGISTRY.register(_RPC_COLLECTOR)
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


def rpc_metrics(full_method: str, grpc_type: str) -> RpcMetrics:
    """The metrics of `/package.Service/Method` called as `grpc_type` (unary, server_stream, ...)."""
    service, _, method = full_method.strip("/").partition("/")
    labels = (grpc_type, service, method)
    return _RPC_COLLECTOR.methods.setdefault(labels, RpcMetrics(labels))


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
