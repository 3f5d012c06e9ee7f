"""Refuses request bytes that do not parse as the method's request message with INVALID_ARGUMENT, and logs it.

grpc parses a request before any servicer or interceptor behaviour runs, and reports a parse failure (a string
that is not UTF-8, a malformed wire format, messages nested deeper than protobuf's limit of 100) as UNKNOWN.
The server's interceptor gives every method a deserializer that returns the failure instead of raising it
(`tolerant`), and refuses that failure before anything else (`refuse`, or `guard` for the methods it does
not otherwise wrap). One interceptor does it all: each interceptor costs every call a trip through grpc's
interceptor chain.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import DecodeError
from grpc import aio

log = logging.getLogger("registry_server.rpc")

MAX_LOGGED_CHARS = 200
Deserializer = Callable[[bytes], Any]
Behavior = Callable[..., Any]  # a unary or streaming behaviour: (request or iterator, context) -> ...
# Generic in the type stubs only, hence the strings.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Context: TypeAlias = "aio.ServicerContext[Any, Any]"


@dataclass(frozen=True)
class UndecodableRequest:
    """What the tolerant deserializer returns for bytes that are not a valid request message."""

    message_type: str
    reason: str


def guard(method: str, handler: Handler) -> Handler:
    """`handler` with a tolerant deserializer and a behaviour that refuses what it could not parse."""
    if handler.request_deserializer is None:
        return handler
    deserializer = tolerant(handler.request_deserializer)
    serializer = handler.response_serializer
    if handler.unary_unary:
        behavior = _unary_request(method, handler.unary_unary)
        return grpc.unary_unary_rpc_method_handler(behavior, deserializer, serializer)
    if handler.unary_stream:
        behavior = _unary_request(method, handler.unary_stream)
        return grpc.unary_stream_rpc_method_handler(behavior, deserializer, serializer)
    if handler.stream_unary:
        behavior = _stream_request(method, handler.stream_unary)
        return grpc.stream_unary_rpc_method_handler(behavior, deserializer, serializer)
    if handler.stream_stream:
        behavior = _stream_request(method, handler.stream_stream)
        return grpc.stream_stream_rpc_method_handler(behavior, deserializer, serializer)
    return handler


def tolerant(deserializer: Deserializer) -> Deserializer:
    """`deserializer`, returning an UndecodableRequest where it would raise DecodeError."""
    message_class = getattr(deserializer, "__self__", None)
    descriptor = getattr(message_class, "DESCRIPTOR", None)
    message_type = getattr(descriptor, "full_name", "request")

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except DecodeError as error:
            return UndecodableRequest(message_type, _reason(str(error)))

    return decode


def _reason(error: str) -> str:
    """The parser's complaint without its preamble, in words a client understands."""
    detail = error.rsplit(": ", 1)[-1] if ": " in error else error
    if "MaxDepth" in detail:
        return "messages are nested deeper than 100 levels"
    return detail[:MAX_LOGGED_CHARS] or "malformed bytes"


async def refuse(method: str, request: UndecodableRequest, context: Context) -> None:
    """Logs the refusal as one bounded line and aborts the RPC with INVALID_ARGUMENT."""
    log.warning(
        "rpc %s code=INVALID_ARGUMENT peer=%s undecodable request: %s",
        method,
        ascii(context.peer()[:MAX_LOGGED_CHARS]),
        ascii(request.reason),
    )
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request is not a valid {request.message_type} message ({request.reason}); "
        "send the message the method's proto defines, encoded by a protobuf library",
    )


def _unary_request(method: str, behavior: Behavior) -> Behavior:
    """A one-request behaviour that refuses an undecodable request, keeping the kind grpc dispatches on."""
    if inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
            if isinstance(request, UndecodableRequest):
                await refuse(method, request, context)
            async for response in behavior(request, context):
                yield response

        return streaming

    async def single(request: Any, context: Context) -> Any:
        if isinstance(request, UndecodableRequest):
            await refuse(method, request, context)
        return await behavior(request, context)

    return single


def _stream_request(method: str, behavior: Behavior) -> Behavior:
    """A request-streaming behaviour whose request iterator refuses an undecodable message."""

    async def checked(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, UndecodableRequest):
                await refuse(method, request, context)
            yield request

    if inspect.isasyncgenfunction(behavior):

        async def streaming(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
            async for response in behavior(checked(requests, context), context):
                yield response

        return streaming

    async def single(requests: AsyncIterator[Any], context: Context) -> Any:
        return await behavior(checked(requests, context), context)

    return single
