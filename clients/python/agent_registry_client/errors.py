"""Typed exceptions for every gRPC status a caller should handle, with a status enum of the client's own."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class StatusCode(enum.Enum):
    """The status of a failed call (the gRPC codes, without needing grpc to read them)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def from_grpc(cls, code: grpc.StatusCode | None) -> StatusCode:
        """The member for a grpc.StatusCode (UNKNOWN for None)."""
        return cls[code.name] if code is not None else cls.UNKNOWN


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field reported by the server."""

    field: str
    description: str


class AgentRegistryError(Exception):
    """Base of the client's errors: `code` (a StatusCode), `message` (the server's text), `request_id`."""

    def __init__(self, code: StatusCode, message: str, request_id: str = "") -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class NotFound(AgentRegistryError):
    """The named resource does not exist."""


class AlreadyExists(AgentRegistryError):
    """A resource with that name exists already."""


class InvalidArgument(AgentRegistryError):
    """The request was malformed; `field_violations` names each bad field."""

    def __init__(
        self,
        code: StatusCode,
        message: str,
        request_id: str = "",
        field_violations: list[FieldViolation] | None = None,
    ) -> None:
        super().__init__(code, message, request_id)
        self.field_violations = field_violations or []


class FailedPrecondition(AgentRegistryError):
    """The system is not in a state for the call, e.g. an agent's factory failed."""


class Conflict(AgentRegistryError):
    """ABORTED: the etag was stale; read the resource again and retry."""


class Unavailable(AgentRegistryError):
    """The server or its storage is unavailable; retried automatically before this is raised."""


class DeadlineExceeded(AgentRegistryError):
    """The call did not finish within its deadline."""


class PermissionDenied(AgentRegistryError):
    """The caller may not make this call."""


class Unauthenticated(AgentRegistryError):
    """The caller sent no valid credentials."""


class RevisionCompacted(AgentRegistryError):
    """OUT_OF_RANGE on WatchAgents: the changes after that revision are gone; list again, then watch."""


class ResourceExhausted(AgentRegistryError):
    """The server is at a limit (e.g. its concurrent RPCs); retry later with backoff."""


class Cancelled(AgentRegistryError):
    """The call was cancelled."""


class Internal(AgentRegistryError):
    """The server failed unexpectedly; the message holds a reference to its log."""


_BY_CODE: dict[StatusCode, type[AgentRegistryError]] = {
    StatusCode.NOT_FOUND: NotFound,
    StatusCode.ALREADY_EXISTS: AlreadyExists,
    StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    StatusCode.ABORTED: Conflict,
    StatusCode.UNAVAILABLE: Unavailable,
    StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    StatusCode.PERMISSION_DENIED: PermissionDenied,
    StatusCode.UNAUTHENTICATED: Unauthenticated,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    StatusCode.CANCELLED: Cancelled,
    StatusCode.INTERNAL: Internal,
    StatusCode.OUT_OF_RANGE: RevisionCompacted,
}
REQUEST_ID_KEY = "x-request-id"


def _request_id(error: grpc.aio.AioRpcError) -> str:
    try:
        trailers = error.trailing_metadata() or ()
    except Exception:
        return ""
    return next((str(value) for key, value in trailers if key == REQUEST_ID_KEY), "")


def error_from_rpc(error: grpc.aio.AioRpcError) -> AgentRegistryError:
    """The typed exception for a failed call."""
    code, message = StatusCode.from_grpc(error.code()), error.details() or ""
    request_id = _request_id(error)
    if code is StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(code, message, request_id, _field_violations(error))
    return _BY_CODE.get(code, AgentRegistryError)(code, message, request_id)


def _field_violations(error: grpc.aio.AioRpcError) -> list[FieldViolation]:
    # The stub asks for a grpc.Call; from_call reads only code(), details() and trailing_metadata(), which
    # an AioRpcError has.
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return []
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations += [FieldViolation(v.field, v.description) for v in bad_request.field_violations]
    return violations
