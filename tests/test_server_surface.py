"""What a newcomer meets first: --version, reflection v1 and v1alpha, the shipped defaults, tracing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from agent_registry_client import connect
from registry_server.config import ServerConfig
from registry_server.server import start_server
from tests.conftest import DEFAULTS_FILE, DEMO_AGENTS, StartServer


def test_version_flag_prints_the_installed_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registry_server", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "agent-registry 0.1.0"


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_under_both_names(start: StartServer, version: str) -> None:
    server = await start()
    method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = channel.stream_stream(
            method,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        replies = [
            reply async for reply in call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        ]
        symbol = reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="agentregistry.v1.RegistryService"
        )
        described = [reply async for reply in call(iter([symbol]))]
    names = {service.name for service in replies[0].list_services_response.service}
    assert {"agentregistry.v1.RegistryService", "grpc.reflection.v1.ServerReflection"} <= names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    assert described[0].file_descriptor_response.file_descriptor_proto


async def test_a_new_data_dir_starts_from_the_shipped_defaults(tmp_path: Path) -> None:
    server = await start_server(ServerConfig(port=0, data_dir=tmp_path / "fresh", shutdown_grace_s=0.1))
    try:
        assert {agent.name for agent in server.registry.agents()} == DEMO_AGENTS
    finally:
        await server.stop(0)


async def test_each_rpc_is_a_span_continuing_the_callers_trace(tmp_path: Path) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from registry_server.tracing import RpcTracer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = RpcTracer(provider.get_tracer("test"))  # this test's provider, not the process-wide one
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    parent = f"00-{trace_id}-b7ad6b7169203331-01"
    config = ServerConfig(port=0, data_dir=tmp_path, defaults_file=DEFAULTS_FILE, shutdown_grace_s=0.1)
    traced = await start_server(config, tracer)
    try:
        async with connect(f"127.0.0.1:{traced.port}") as client:
            await client.registry.get_agent("tickets_agent", metadata=(("traceparent", parent),))
    finally:
        await traced.stop(0)
    spans = [s for s in exporter.get_finished_spans() if s.name.endswith("GetAgent")]
    assert len(spans) == 1 and spans[0].kind is trace.SpanKind.SERVER
    assert f"{spans[0].context.trace_id:032x}" == trace_id
    assert spans[0].attributes["rpc.grpc.status_code"] == "OK"
