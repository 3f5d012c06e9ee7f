"""One interceptor for every RPC: logs method, code and latency, and turns errors into clean statuses."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from registry_server.api.errors import status_for
from registry_server.domain.errors import RegistryError

log = logging.getLogger("registry_server.rpc")

UnaryBehavior = Callable[[Any, aio.ServicerContext], Awaitable[Any]]
StreamBehavior = Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]


class RpcInterceptor(aio.ServerInterceptor):
    """Logs one line per RPC and maps domain errors; an unexpected error is logged, never sent as a trace."""

    def __init__(self) -> None:
        # A method's handler never changes, so each is wrapped once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:
                return handler
            wrapped = self._wrapped[method] = _wrap(method, handler)
        return wrapped


def _wrap(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler with logging and error mapping around its behaviour."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _unary(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _server_stream(method, handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


def _unary(method: str, behavior: UnaryBehavior) -> UnaryBehavior:
    async def logged(request: Any, context: aio.ServicerContext) -> Any:
        started, cancelled = time.perf_counter(), False
        try:
            return await behavior(request, context)
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            await _fail(method, exc, context)
            raise
        finally:
            _log_rpc(method, context, started, cancelled)

    return logged


def _server_stream(method: str, behavior: StreamBehavior) -> StreamBehavior:
    if not inspect.isasyncgenfunction(behavior):  # a handler that streams with context.write()
        return _unary(method, behavior)  # type: ignore[arg-type, return-value]

    async def logged(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        started, cancelled = time.perf_counter(), False
        try:
            async for response in behavior(request, context):
                yield response
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            await _fail(method, exc, context)
            raise
        finally:
            _log_rpc(method, context, started, cancelled)

    return logged


async def _fail(method: str, exc: BaseException, context: aio.ServicerContext) -> None:
    """Aborts the RPC with the status for `exc`; lets cancellation and earlier aborts pass through."""
    if isinstance(exc, RegistryError):
        await context.abort_with_status(status_for(exc))
    if isinstance(exc, Exception) and not isinstance(exc, aio.AbortError):
        reference = uuid.uuid4().hex[:12]
        log.exception("%s failed unexpectedly (reference %s)", method, reference)
        await context.abort(
            grpc.StatusCode.INTERNAL,
            f"internal error (reference {reference}); the server log has the details",
        )


def _log_rpc(method: str, context: aio.ServicerContext, started: float, cancelled: bool) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    code = context.code()
    name = code.name if isinstance(code, grpc.StatusCode) else "OK" if code in (None, 0) else str(code)
    if code is None and (cancelled or context.cancelled()):
        name = "CANCELLED"
    log.info("rpc %s code=%s ms=%.2f", method, name, elapsed_ms)
