"""One interceptor for every RPC: authenticates and authorises the caller, logs method, code and latency,
audits mutations, and turns errors into clean statuses."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc import aio

from registry_server.api.audit import audit
from registry_server.api.errors import status_for
from registry_server.auth.policy import MethodRule, authorize, rule_for
from registry_server.auth.principal import UNAUTHENTICATED_ADMIN, Principal, set_current_principal
from registry_server.auth.tokens import TokenAuthenticator
from registry_server.domain.errors import RegistryError

log = logging.getLogger("registry_server.rpc")

UnaryBehavior = Callable[[Any, aio.ServicerContext], Awaitable[Any]]
StreamBehavior = Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]


@dataclass(frozen=True)
class Gate:
    """Admission to one method: who may call it (None: open to all) and the token check."""

    method: str
    rule: MethodRule | None
    authenticator: TokenAuthenticator | None

    def authenticate(self, context: aio.ServicerContext) -> Principal | None:
        """The caller (None for an open method); raises UnauthenticatedError."""
        if self.rule is None:
            return None
        if self.authenticator is None:
            return UNAUTHENTICATED_ADMIN
        metadata = context.invocation_metadata() or ()
        header = next((value for key, value in metadata if key == "authorization"), None)
        return self.authenticator.authenticate(header if isinstance(header, str) else None)

    def admit(self, principal: Principal | None) -> None:
        """Lets the caller in for the rest of this RPC; raises PermissionDeniedError."""
        if principal is None or self.rule is None:
            return
        authorize(principal, self.method, self.rule)
        set_current_principal(principal)


class RpcInterceptor(aio.ServerInterceptor):
    """Wraps every method once; health and reflection stay open to probes and grpcurl."""

    def __init__(self, authenticator: TokenAuthenticator | None = None) -> None:
        self._authenticator = authenticator
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
            gate = Gate(method, rule_for(method), self._authenticator)
            wrapped = self._wrapped[method] = _wrap(gate, handler)
        return wrapped


def _wrap(gate: Gate, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The handler with admission, logging, auditing and error mapping around its behaviour."""
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _unary(gate, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _server_stream(gate, handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


def _unary(gate: Gate, behavior: UnaryBehavior) -> UnaryBehavior:
    async def guarded(request: Any, context: aio.ServicerContext) -> Any:
        started, cancelled, principal = time.perf_counter(), False, None
        try:
            principal = gate.authenticate(context)
            gate.admit(principal)
            return await behavior(request, context)
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            await _fail(gate.method, exc, context)
            raise
        finally:
            _record(gate, context, started=started, cancelled=cancelled, principal=principal, request=request)

    return guarded


def _server_stream(gate: Gate, behavior: StreamBehavior) -> StreamBehavior:
    if not inspect.isasyncgenfunction(behavior):  # a handler that streams with context.write()
        return _unary(gate, behavior)  # type: ignore[arg-type, return-value]

    async def guarded(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        started, cancelled, principal = time.perf_counter(), False, None
        try:
            principal = gate.authenticate(context)
            gate.admit(principal)
            async for response in behavior(request, context):
                yield response
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            await _fail(gate.method, exc, context)
            raise
        finally:
            _record(gate, context, started=started, cancelled=cancelled, principal=principal, request=request)

    return guarded


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


def _record(
    gate: Gate,
    context: aio.ServicerContext,
    *,
    started: float,
    cancelled: bool,
    principal: Principal | None,
    request: Any,
) -> None:
    """The RPC's log line and, for a mutation, its audit line."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    code = context.code()
    name = code.name if isinstance(code, grpc.StatusCode) else "OK" if code in (None, 0) else str(code)
    if code is None and (cancelled or context.cancelled()):
        name = "CANCELLED"
    log.info("rpc %s code=%s ms=%.2f", gate.method, name, elapsed_ms)
    if gate.rule is not None and gate.rule.mutation:
        audit(principal, gate.method, request, name)
