"""A failed RPC's log and audit lines are written before its status leaves for the caller.

A caller that gets its error and then reads the server's log must find the call there. The status leaves the
server inside `context.abort`, so this drives the interceptor with a context that notes, at the moment of the
abort, which log lines exist.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio

from registry_server.api.interceptor import RpcInterceptor
from registry_server.domain.errors import NotFoundError

DELETE_AGENT = "/agentregistry.v1.RegistryService/DeleteAgent"
ROUTE_AND_INVOKE = "/agentregistry.v1.RouterService/RouteAndInvoke"


class AbortingContext:
    """The parts of a servicer context the interceptor uses; `abort` records the log lines written so far."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self._code: grpc.StatusCode | None = None
        self.lines_at_abort: list[str] | None = None
        self.aborted_with: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", "order-test"),)

    def set_trailing_metadata(self, metadata: Any) -> None:
        pass

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def cancelled(self) -> bool:
        return False

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        self.lines_at_abort = [record.getMessage() for record in self._caplog.records]
        self.aborted_with = self._code = code
        raise aio.AbortError("aborted")


class Handler:
    """What grpc hands an interceptor for one method."""

    def __init__(self, *, unary_unary: Any = None, unary_stream: Any = None) -> None:
        self.unary_unary = unary_unary
        self.unary_stream = unary_stream
        self.request_deserializer = None
        self.response_serializer = None


class Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


async def wrapped(interceptor: RpcInterceptor, method: str, handler: Handler) -> Any:
    async def continuation(details: Any) -> Any:
        return handler

    result = await interceptor.intercept_service(continuation, Details(method))  # type: ignore[arg-type]
    assert result is not None
    return result


async def call_unary(
    interceptor: RpcInterceptor, method: str, behavior: Any, context: AbortingContext
) -> None:
    handler = await wrapped(interceptor, method, Handler(unary_unary=behavior))
    with pytest.raises(aio.AbortError):
        await handler.unary_unary(object(), context)


def line_for(lines: list[str] | None, fragment: str) -> list[str]:
    assert lines is not None, "the RPC was not aborted"
    return [line for line in lines if fragment in line]


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="registry_server")
    return caplog


async def test_a_refused_mutation_is_logged_and_audited_before_the_caller_gets_its_error(caplog_info):
    async def missing(request: Any, context: Any) -> Any:
        raise NotFoundError("agent 'ghost' not found")

    context = AbortingContext(caplog_info)
    await call_unary(RpcInterceptor(), DELETE_AGENT, missing, context)

    assert context.aborted_with is grpc.StatusCode.NOT_FOUND
    assert line_for(context.lines_at_abort, f"rpc {DELETE_AGENT} code=NOT_FOUND")
    audited = [r for r in caplog_info.records if r.name == "registry_server.audit"]
    assert audited, "no audit line for the refused mutation"
    assert audited[0].getMessage() in context.lines_at_abort


async def test_an_unexpected_error_is_logged_before_the_caller_gets_internal(caplog_info):
    async def broken(request: Any, context: Any) -> Any:
        raise RuntimeError("bug")

    context = AbortingContext(caplog_info)
    await call_unary(RpcInterceptor(), DELETE_AGENT, broken, context)

    assert context.aborted_with is grpc.StatusCode.INTERNAL
    assert line_for(context.lines_at_abort, "failed unexpectedly")
    assert line_for(context.lines_at_abort, f"rpc {DELETE_AGENT} code=INTERNAL")


async def test_a_call_over_the_concurrency_cap_is_logged_before_the_caller_gets_resource_exhausted(
    caplog_info,
):
    async def never_reached(request: Any, context: Any) -> Any:
        raise AssertionError("admitted over the cap")

    context = AbortingContext(caplog_info)
    await call_unary(RpcInterceptor(max_concurrent_rpcs=0), DELETE_AGENT, never_reached, context)

    assert context.aborted_with is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert line_for(context.lines_at_abort, f"rpc {DELETE_AGENT} code=RESOURCE_EXHAUSTED")


async def test_a_stream_that_fails_midway_is_logged_before_the_caller_gets_its_error(caplog_info):
    async def fails_after_one(request: Any, context: Any) -> AsyncIterator[str]:
        yield "first"
        raise NotFoundError("session gone")

    context = AbortingContext(caplog_info)
    handler = await wrapped(RpcInterceptor(), ROUTE_AND_INVOKE, Handler(unary_stream=fails_after_one))
    received = []
    with pytest.raises(aio.AbortError):
        async for response in handler.unary_stream(object(), context):
            received.append(response)

    assert received == ["first"]
    assert context.aborted_with is grpc.StatusCode.NOT_FOUND
    assert line_for(context.lines_at_abort, f"rpc {ROUTE_AND_INVOKE} code=NOT_FOUND")
