"""Metrics, request ids, log levels and JSON log lines, as an operator sees them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from agent_registry_client import Agent, Capabilities, Factory, NotFound, StatusCode, connect
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc
from registry_server.log_output import LogOutput, TextFormatter
from registry_server.server import RegistryServer
from tests.conftest import DEMO_AGENTS, StartServer
from tests.markers import wait_for_path
from tests.server_process import start_server_process


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def handled(method: str, code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {
        "grpc_type": "unary",
        "grpc_service": "agentregistry.v1.RegistryService",
        "grpc_method": method,
        "grpc_code": code,
    }
    return "grpc_server_handled_total", tuple(sorted(labels.items()))


async def test_metrics_count_rpcs_by_method_and_code(start: StartServer) -> None:
    server = await start(metrics_port=0)
    assert server.metrics_port
    before = await asyncio.to_thread(scrape, server.metrics_port)
    async with connect(f"127.0.0.1:{server.port}") as client:
        await client.registry.get_agent("tickets_agent")
        await client.registry.get_agent("tickets_agent")
        with pytest.raises(NotFound):
            await client.registry.get_agent("nobody_agent")
    after = await asyncio.to_thread(scrape, server.metrics_port)
    ok, missing = handled("GetAgent", "OK"), handled("GetAgent", "NOT_FOUND")
    assert after[ok] - before.get(ok, 0) == 2
    assert after[missing] - before.get(missing, 0) == 1
    started = [
        k for k in after if k[0] == "grpc_server_started_total" and ("grpc_method", "GetAgent") in k[1]
    ]
    assert started and after[started[0]] - before.get(started[0], 0) == 3
    timed = [
        k
        for k in after
        if k[0] == "grpc_server_handling_seconds_count" and ("grpc_method", "GetAgent") in k[1]
    ]
    assert timed and after[timed[0]] - before.get(timed[0], 0) == 3
    assert after[("registry_agents", ())] == len(DEMO_AGENTS)
    assert after[("registry_agents_unavailable", ())] == 0


async def test_request_ids_come_back_in_the_trailing_metadata(server: RegistryServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        request = registry_service_pb2.GetAgentRequest(name="tickets_agent")
        mine = stub.GetAgent(request, metadata=(("x-request-id", "req-42.a"),))
        await mine
        assert ("x-request-id", "req-42.a") in tuple(await mine.trailing_metadata())
        made = stub.GetAgent(request)
        await made
        ids = [value for key, value in await made.trailing_metadata() if key == "x-request-id"]
        assert len(ids) == 1 and ids[0]
        hostile = stub.GetAgent(request, metadata=(("x-request-id", "x" * 500),))
        await hostile
        ids = [value for key, value in await hostile.trailing_metadata() if key == "x-request-id"]
        assert ids and ids[0] != "x" * 500, "an unplain id is replaced, never echoed into logs"


async def test_errors_carry_the_request_id_and_the_clients_status_enum(server: RegistryServer) -> None:
    async with connect(f"127.0.0.1:{server.port}") as client:
        with pytest.raises(NotFound) as raised:
            await client.registry.get_agent(
                "nobody_agent", metadata=(("x-request-id", "trace-me"),), timeout=5
            )
    assert raised.value.code is StatusCode.NOT_FOUND
    assert raised.value.request_id == "trace-me"


async def test_health_checks_log_at_debug(server: RegistryServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="registry_server.rpc")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    lines = [
        r for r in caplog.records if r.name == "registry_server.rpc" and "Health/Check" in r.getMessage()
    ]
    assert [r.levelno for r in lines] == [logging.DEBUG]


async def register_agent(server: RegistryServer, name: str, domain: str, factory: Factory) -> None:
    async with connect(f"127.0.0.1:{server.port}") as client:
        await client.registry.register_agent(
            Agent(name=name, factory=factory, capabilities=Capabilities(domains=(domain,)))
        )


async def test_an_agent_failure_is_a_warning_naming_the_agent(
    server: RegistryServer, caplog: pytest.LogCaptureFixture
) -> None:
    await register_agent(
        server, "broken_agent", "outages", Factory("tests.fake_agents", "create_failing_agent")
    )
    async with connect(f"127.0.0.1:{server.port}") as client:
        events = [event async for event in client.router.route_and_invoke("outages now", user_id="alice")]
    assert events
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "broken_agent" in r.getMessage()
    ]
    assert warnings and "ConnectionError" in warnings[0].getMessage()


async def test_a_cancelled_rpc_is_logged(
    server: RegistryServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    marker = tmp_path / "stuck"
    factory = Factory("tests.fake_agents", "create_hanging_agent", {"marker": str(marker)})
    await register_agent(server, "stuck_agent", "hangs", factory)
    async with connect(f"127.0.0.1:{server.port}") as client:
        events = client.router.route_and_invoke("hangs again", user_id="alice")
        await anext(events)  # the decision
        reading = asyncio.ensure_future(anext(events))
        await wait_for_path(marker.with_suffix(".started"))
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await events.aclose()
    await wait_for_path(marker.with_suffix(".cancelled"))

    def cancelled_lines() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.name == "registry_server.rpc" and "RouteAndInvoke code=CANCELLED" in r.getMessage()
        ]

    for _ in range(200):  # the server notices the cancellation on its own schedule
        if cancelled_lines():
            break
        await asyncio.sleep(0.05)
    assert [r.levelno for r in cancelled_lines()] == [logging.WARNING]


async def test_json_log_lines_parse(tmp_path) -> None:
    server = await start_server_process(tmp_path / "data", "--log-format", "json", "--log-level", "debug")
    try:
        async with connect(server.target) as client:
            await client.registry.get_agent("tickets_agent", metadata=(("x-request-id", "json-1"),))
    finally:
        assert await server.terminate() == 0
    documents = [json.loads(line) for line in server.log_lines if line.strip()]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(d) for d in documents)
    rpc = [d for d in documents if d.get("method") == "/agentregistry.v1.RegistryService/GetAgent"]
    assert rpc and rpc[0]["code"] == "OK" and rpc[0]["request_id"] == "json-1"
    assert rpc[0]["principal"] == "anonymous" and isinstance(rpc[0]["ms"], float)


def test_the_log_pipeline_loses_nothing_and_close_flushes() -> None:
    stream = io.StringIO()
    output = LogOutput(stream, TextFormatter())
    logger = logging.getLogger(f"test.pipeline.{id(stream)}")
    logger.handlers[:] = [output.handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for n in range(2000):
        logger.info("line %d", n)
    try:
        raise ValueError("boom\nforged line")
    except ValueError:
        logger.exception("failed")
    output.close()
    lines = stream.getvalue().splitlines()
    assert [line.rsplit(" ", 1)[-1] for line in lines[:2000]] == [str(n) for n in range(2000)]
    assert lines[2000].endswith("failed") and all(line.startswith("    ") for line in lines[2001:])
