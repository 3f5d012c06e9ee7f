"""Domain errors: each class is one kind of failure a caller can cause or must handle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request: its path (e.g. `agent.name`) and what is wrong with it."""

    field: str
    description: str


class RegistryError(Exception):
    """Base of every error the service reports to its callers."""


class NotFoundError(RegistryError):
    """The named resource does not exist."""


class AlreadyExistsError(RegistryError):
    """A resource with that name exists already."""


class ValidationError(RegistryError):
    """The request is malformed; `violations` lists each bad field."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"invalid request: {summary}")

    @classmethod
    def single(cls, field: str, description: str) -> ValidationError:
        """Builds the error for one bad field."""
        return cls([FieldViolation(field, description)])


class FactoryError(RegistryError):
    """An agent's factory could not be imported, raised, or built something that is not an agent."""

    def __init__(self, module: str, function: str, cause: str) -> None:
        self.module = module
        self.function = function
        self.cause = cause
        super().__init__(f"factory {module}.{function} failed: {cause}")


class EtagMismatchError(RegistryError):
    """The caller's etag is stale: somebody changed the resource since the caller read it."""


class StorageUnavailableError(RegistryError):
    """The durable store could not be written or read; nothing was changed, the caller may retry."""


class InvalidStateError(RegistryError):
    """The resource is not in a state that allows the call, e.g. a write to a completed session."""


class UnauthenticatedError(RegistryError):
    """The caller sent no credentials, or credentials the server does not know."""


class PermissionDeniedError(RegistryError):
    """The caller is known but may not make this call."""


class RevisionCompactedError(RegistryError):
    """The requested revision is older than the change history kept; the caller must list again."""

    def __init__(self, requested: int, oldest_kept: int) -> None:
        self.requested = requested
        self.oldest_kept = oldest_kept
        super().__init__(
            f"revision {requested} has been compacted (changes are kept after revision {oldest_kept}); "
            "list the agents again and watch from the revision the listing returns"
        )
