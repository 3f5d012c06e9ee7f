"""OpenTelemetry spans (optional extra `[otel]`): one per RPC, continuing the trace the caller's metadata
carries, and one per agent invocation through agent_span()."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

OTEL_AVAILABLE = importlib.util.find_spec("opentelemetry") is not None
_agent_tracer: Any = None  # set by configure_tracing; None keeps agent_span() free


@contextlib.contextmanager
def agent_span(agent: str) -> Iterator[None]:
    """A span around one agent invocation, a child of the RPC's span; does nothing when tracing is off."""
    if _agent_tracer is None:
        yield
        return
    with _agent_tracer.start_as_current_span(f"agent {agent}", attributes={"agent.name": agent}):
        yield


class TracingUnavailableError(RuntimeError):
    """Tracing was asked for but the `otel` extra is not installed."""


class RpcSpan:
    """One RPC's span; end() sets its status from the gRPC code."""

    def __init__(self, span: Any, token: object) -> None:
        self._span = span
        self._token = token

    def end(self, code: str) -> None:
        """Closes the span with the call's status code."""
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("rpc.grpc.status_code", code)
        if code != "OK":
            self._span.set_status(Status(StatusCode.ERROR, code))
        self._span.end()
        with contextlib.suppress(ValueError):  # a stream may end in another context than it began
            context.detach(self._token)  # type: ignore[arg-type]


class RpcTracer:
    """Starts a server span for each RPC, as a child of the caller's `traceparent` when it sent one."""

    def __init__(self, tracer: Any = None) -> None:
        """Spans from `tracer`, by default the process-wide provider's."""
        if not OTEL_AVAILABLE:
            raise TracingUnavailableError("tracing needs the otel extra: pip install 'agent-registry[otel]'")
        from opentelemetry import trace

        self._tracer = tracer or trace.get_tracer("registry_server")

    def start(self, method: str, metadata: Sequence[tuple[str, Any]]) -> RpcSpan:
        """A started span for `method`; the caller's trace context comes from the metadata."""
        from opentelemetry import context, propagate, trace

        carrier = {key: value for key, value in metadata if isinstance(value, str)}
        service, _, name = method.strip("/").partition("/")
        span = self._tracer.start_span(
            method.strip("/"),
            context=propagate.extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
        )
        # Current for the rest of the call, so agent spans and outgoing calls become its children.
        return RpcSpan(span, context.attach(trace.set_span_in_context(span)))


def configure_tracing(exporter: str) -> RpcTracer:
    """Installs an SDK tracer provider exporting spans to `console`, or to `otlp` if its exporter is there."""
    if not OTEL_AVAILABLE:
        raise TracingUnavailableError("tracing needs the otel extra: pip install 'agent-registry[otel]'")
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    span_exporter: SpanExporter
    if exporter == "otlp":
        try:
            # Imported by name: the OTLP exporter is an optional package, not needed to type-check this one.
            otlp = importlib.import_module("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
        except ImportError as error:
            raise TracingUnavailableError(
                "--trace-exporter otlp needs opentelemetry-exporter-otlp-proto-grpc installed"
            ) from error
        exporter_class: type[SpanExporter] = otlp.OTLPSpanExporter
        span_exporter = exporter_class()
    else:
        span_exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-registry"}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    global _agent_tracer  # noqa: PLW0603 (one tracer provider per process)
    _agent_tracer = trace.get_tracer("registry_server.agents")
    return RpcTracer()
