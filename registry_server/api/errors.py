"""Maps domain errors to gRPC statuses, with `google.rpc.BadRequest` details for invalid fields."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from registry_server.domain.errors import (
    AlreadyExistsError,
    EtagMismatchError,
    FactoryError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    RevisionCompactedError,
    StorageUnavailableError,
    UnauthenticatedError,
    ValidationError,
)

_CODES: dict[type[RegistryError], int] = {
    NotFoundError: code_pb2.NOT_FOUND,
    AlreadyExistsError: code_pb2.ALREADY_EXISTS,
    ValidationError: code_pb2.INVALID_ARGUMENT,
    FactoryError: code_pb2.FAILED_PRECONDITION,
    InvalidStateError: code_pb2.FAILED_PRECONDITION,
    EtagMismatchError: code_pb2.ABORTED,
    StorageUnavailableError: code_pb2.UNAVAILABLE,
    UnauthenticatedError: code_pb2.UNAUTHENTICATED,
    PermissionDeniedError: code_pb2.PERMISSION_DENIED,
    RevisionCompactedError: code_pb2.OUT_OF_RANGE,
}


def status_for(error: RegistryError) -> grpc.Status:
    """The gRPC status a client receives for `error`."""
    code = next((c for kind, c in _CODES.items() if isinstance(error, kind)), code_pb2.INTERNAL)
    status = status_pb2.Status(code=code, message=str(error))
    if isinstance(error, ValidationError):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    return rpc_status.to_status(status)
