"""Typed exceptions for every gRPC status a caller should handle."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field reported by the server."""

    field: str
    description: str


class AgentRegistryError(Exception):
    """Base of the client's errors; `code` is the gRPC status code, `message` the server's text."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class NotFound(AgentRegistryError):
    """The named resource does not exist."""


class AlreadyExists(AgentRegistryError):
    """A resource with that name exists already."""


class InvalidArgument(AgentRegistryError):
    """The request was malformed; `field_violations` names each bad field."""

    def __init__(self, code: grpc.StatusCode, message: str, field_violations: list[FieldViolation]) -> None:
        super().__init__(code, message)
        self.field_violations = field_violations


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


_BY_CODE: dict[grpc.StatusCode, type[AgentRegistryError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.OUT_OF_RANGE: RevisionCompacted,
}


def error_from_rpc(error: grpc.aio.AioRpcError) -> AgentRegistryError:
    """The typed exception for a failed call."""
    code, message = error.code(), error.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(code, message, _field_violations(error))
    return _BY_CODE.get(code, AgentRegistryError)(code, message)


def _field_violations(error: grpc.aio.AioRpcError) -> list[FieldViolation]:
    status = rpc_status.from_call(error)
    if status is None:
        return []
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations += [FieldViolation(v.field, v.description) for v in bad_request.field_violations]
    return violations
