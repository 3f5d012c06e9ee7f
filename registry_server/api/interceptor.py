"""One interceptor for every RPC: refuses undecodable requests, admits the caller (concurrency cap, token,
role), tags the call with a request id, records its log line, metrics and audit line, and turns errors into
clean statuses."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple, cast

import grpc
from grpc import aio

from registry_server.api.call_record import CallRecorder
from registry_server.api.errors import status_for
from registry_server.api.log_limits import LogRateLimit
from registry_server.api.request_decoding import UndecodableRequest, guard, refuse, tolerant
from registry_server.api.rpc_call import REQUEST_ID_KEY, CallMetadata, read_metadata
from registry_server.auth.policy import MethodRule, authorize, rule_for
from registry_server.auth.principal import UNAUTHENTICATED_ADMIN, Principal, set_current_principal
from registry_server.auth.tokens import TokenAuthenticator
from registry_server.domain.errors import RegistryError
from registry_server.domain.request_id import set_request_id
from registry_server.metrics import rpc_metrics
from registry_server.tracing import RpcSpan, RpcTracer

log = logging.getLogger("registry_server.rpc")

UnaryBehavior = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
StreamBehavior = Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


class OverloadedError(Exception):
    """The server is serving its maximum of concurrent RPCs."""


class Admission:
    """What every method shares: the token check, the concurrent-RPC cap, and the log rate limits."""

    def __init__(self, authenticator: TokenAuthenticator | None, max_concurrent_rpcs: int | None) -> None:
        self.authenticator = authenticator
        self.max_concurrent_rpcs = max_concurrent_rpcs
        self.in_flight = 0
        self.auth_failures = LogRateLimit("auth_failure")
        self.noteworthy = LogRateLimit("cancelled_or_refused")


class Gate:
    """Admission to one method: who may call it (rule None: open to all, e.g. health) and what it records."""

    def __init__(self, method: str, grpc_type: str, admission: Admission, tracer: RpcTracer | None) -> None:
        self.method = method
        self.rule: MethodRule | None = rule_for(method)
        self.admission = admission
        self.tracer = tracer
        self.recorder = CallRecorder(method, self.rule, rpc_metrics(method, grpc_type), admission)

    def enter(self) -> None:
        """Counts the RPC in; raises OverloadedError at the cap (open services such as health are exempt)."""
        admission = self.admission
        cap = admission.max_concurrent_rpcs
        if self.rule is not None and cap is not None and admission.in_flight >= cap:
            raise OverloadedError
        admission.in_flight += 1

    def leave(self) -> None:
        """Counts the RPC out."""
        self.admission.in_flight -= 1

    def authenticate(self, call: CallMetadata) -> Principal | None:
        """The caller (None for an open method); raises UnauthenticatedError."""
        if self.rule is None:
            return None
        if self.admission.authenticator is None:
            return UNAUTHENTICATED_ADMIN
        return self.admission.authenticator.authenticate(call.authorization)

    def admit(self, principal: Principal | None) -> None:
        """Lets the caller in for the rest of this RPC; raises PermissionDeniedError."""
        if principal is None or self.rule is None:
            return
        authorize(principal, self.method, self.rule)
        set_current_principal(principal)


class RpcInterceptor(aio.ServerInterceptor):
    """Wraps every method once; health and reflection stay open to probes and grpcurl."""

    def __init__(
        self,
        authenticator: TokenAuthenticator | None = None,
        *,
        max_concurrent_rpcs: int | None = None,
        tracer: RpcTracer | None = None,
    ) -> None:
        self._admission = Admission(authenticator, max_concurrent_rpcs)
        self._tracer = tracer
        # A method's handler never changes, so each is wrapped once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:
                return handler
            wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """The handler with decoding checks, admission, records and error mapping around its behaviour."""
        deserializer = tolerant(handler.request_deserializer) if handler.request_deserializer else None
        # grpc's stubs describe a synchronous server's handlers; an aio server's are coroutine functions
        # (or async generators), which is what the casts below state.
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary(
                    Gate(method, "unary", self._admission, self._tracer),
                    cast(UnaryBehavior, handler.unary_unary),
                ),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            gate = Gate(method, "server_stream", self._admission, self._tracer)
            stream = handler.unary_stream
            return grpc.unary_stream_rpc_method_handler(
                _server_stream(gate, cast(StreamBehavior, stream))
                if inspect.isasyncgenfunction(stream)
                else _unary(gate, cast(UnaryBehavior, stream)),  # a handler that streams with context.write()
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return guard(method, handler)  # request streams (reflection): decoding checks only


def _begin(gate: Gate, context: aio.ServicerContext[Any, Any]) -> CallMetadata:
    """Reads the call's metadata, makes its request id current and returns it to the caller at the end."""
    gate.recorder.metrics.started()
    call = read_metadata(context)
    set_request_id(call.request_id)
    context.set_trailing_metadata(((REQUEST_ID_KEY, call.request_id),))
    return call


def _unary(gate: Gate, behavior: UnaryBehavior) -> UnaryBehavior:
    async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        if type(request) is UndecodableRequest:
            await refuse(gate.method, request, context)
        started, principal, entered = time.perf_counter(), None, False
        call = _begin(gate, context)
        span = gate.tracer.start(gate.method, call.metadata) if gate.tracer else None
        try:
            gate.enter()
            entered = True
            principal = gate.authenticate(call)
            gate.admit(principal)
            response = await behavior(request, context)
        except BaseException as exc:
            await _end_failed(gate, exc, context, call, started, principal, request, entered, span)
            raise
        # Recorded before returning: grpc sends the response only once this coroutine has returned.
        gate.leave()
        code = gate.recorder.record(context, call, started, False, principal, request)
        if span is not None:
            span.end(code)
        return response

    return guarded


def _server_stream(gate: Gate, behavior: StreamBehavior) -> StreamBehavior:
    async def guarded(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        if type(request) is UndecodableRequest:
            await refuse(gate.method, request, context)
        started, principal, entered = time.perf_counter(), None, False
        call = _begin(gate, context)
        span = gate.tracer.start(gate.method, call.metadata) if gate.tracer else None
        try:
            gate.enter()
            entered = True
            principal = gate.authenticate(call)
            gate.admit(principal)
            async for response in behavior(request, context):
                yield response
        except BaseException as exc:
            await _end_failed(gate, exc, context, call, started, principal, request, entered, span)
            raise
        # Recorded before the generator ends: grpc sends the final status only after that.
        gate.leave()
        code = gate.recorder.record(context, call, started, False, principal, request)
        if span is not None:
            span.end(code)

    return guarded


async def _end_failed(  # noqa: PLR0917 (called once per failed RPC: no argument object)
    gate: Gate,
    exc: BaseException,
    context: aio.ServicerContext[Any, Any],
    call: CallMetadata,
    started: float,
    principal: Principal | None,
    request: Any,
    entered: bool,
    span: RpcSpan | None,
) -> None:
    """Counts the failed RPC out and records it, then aborts it with the status for `exc`.

    The order matters: a caller that gets its error and then reads the server's log or audit trail must find
    the call's line there.
    """
    failure = _failure_status(gate.method, exc, call.request_id)
    if failure is not None:
        context.set_code(failure.code)  # the code the record below reports is the one about to be sent
    cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
    if entered:
        gate.leave()
    code = gate.recorder.record(context, call, started, cancelled, principal, request)
    if span is not None:
        span.end(code)
    if failure is not None:
        await context.abort(failure.code, failure.details, failure.trailing_metadata)


class FailureStatus(NamedTuple):
    """The status an RPC that raised ends with."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _failure_status(method: str, exc: BaseException, request_id: str) -> FailureStatus | None:
    """The status for `exc`; None for a cancellation or an RPC its handler has already aborted."""
    trailer = ((REQUEST_ID_KEY, request_id),)
    if isinstance(exc, RegistryError):
        status = status_for(exc)
        return FailureStatus(status.code, status.details, (*status.trailing_metadata, *trailer))
    if isinstance(exc, OverloadedError):
        return FailureStatus(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "the server is serving its maximum of concurrent RPCs; retry with backoff",
            trailer,
        )
    if isinstance(exc, Exception) and not isinstance(exc, aio.AbortError):
        reference = uuid.uuid4().hex[:12]
        log.exception("%s failed unexpectedly (reference %s)", method, reference)
        return FailureStatus(
            grpc.StatusCode.INTERNAL,
            f"internal error (reference {reference}); the server log has the details",
            trailer,
        )
    return None
