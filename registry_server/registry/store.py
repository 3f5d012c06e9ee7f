"""The registry store contract: what AgentRegistry needs from a durable backend (journal file, PostgreSQL).

Rules every implementation keeps:
- `commit` is durable when it returns; a change that raised was not applied, in part or in whole.
- Each committed record gets the next registry revision: revisions only grow and have no gaps, and the
  records of one change get consecutive revisions in the order of its mutations.
- Expected etags (and the request id, when set) are checked atomically with the write, against every
  change committed or in flight before it, on every instance sharing the store.
- Changes made by other instances sharing the store reach `subscribe`'s listeners in revision order, each
  change whole; a store used by one process never calls them.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from registry_server.domain.agent import AgentSpec
from registry_server.domain.errors import EtagMismatchError, RegistryError


class ChangeKind(enum.Enum):
    """What a change record did to its agent."""

    PUT = "PUT"
    DELETE = "DELETE"


@dataclass(frozen=True)
class StoredAgent:
    """An agent's stored definition, its etag, and the registry revision of its last change."""

    spec: AgentSpec
    etag: str
    revision: int


@dataclass(frozen=True)
class PutAgent:
    """Creates or replaces an agent; `expected_etag` is the etag replaced, None when the name must be free."""

    spec: AgentSpec
    etag: str
    expected_etag: str | None


@dataclass(frozen=True)
class DeleteAgent:
    """Remove an agent whose current etag is `expected_etag`."""

    name: str
    expected_etag: str


Mutation = PutAgent | DeleteAgent


@dataclass(frozen=True)
class Change:
    """Mutations committed atomically, all or none, with the caller's request id (AIP-155) if it sent one.

    `request_fingerprint` identifies what was asked (method and request), so a request id reused for a
    different request is told apart from a retry.
    """

    mutations: tuple[Mutation, ...]
    request_id: str = ""
    request_fingerprint: str = ""


@dataclass(frozen=True)
class ChangeRecord:
    """One committed mutation: its revision, its kind, the agent's name and, for a PUT, the agent."""

    revision: int
    kind: ChangeKind
    name: str
    agent: StoredAgent | None = None
    request_id: str = ""
    request_fingerprint: str = ""


@dataclass(frozen=True)
class RejectedRecord:
    """A stored record that could not be loaded: its name, why, the raw value and where it was found."""

    name: str
    reason: str
    record: object
    origin: str


@dataclass(frozen=True)
class LoadResult:
    """What a store holds at start-up.

    `agents` are the valid records; `rejected` the ones set aside, with reasons; `revision` the registry
    revision they reflect; `recent_changes` the history the store still keeps (oldest first), from which
    watches resume and request ids are recognised; `source` says where it all came from, for the log.
    """

    agents: list[StoredAgent]
    revision: int
    source: str
    rejected: list[RejectedRecord] = field(default_factory=list)
    recent_changes: list[ChangeRecord] = field(default_factory=list)


ChangeListener = Callable[[Sequence[ChangeRecord]], Awaitable[None]]


def change_records(change: Change, last_revision: int) -> list[ChangeRecord]:
    """The records a committed change wrote, given the revision `commit` returned."""
    first = last_revision - len(change.mutations) + 1
    records = []
    for offset, mutation in enumerate(change.mutations):
        revision = first + offset
        request = (change.request_id, change.request_fingerprint)
        if isinstance(mutation, DeleteAgent):
            records.append(ChangeRecord(revision, ChangeKind.DELETE, mutation.name, None, *request))
        else:
            stored = StoredAgent(mutation.spec, mutation.etag, revision)
            records.append(ChangeRecord(revision, ChangeKind.PUT, mutation.spec.name, stored, *request))
    return records


class StoreConflictError(EtagMismatchError):
    """A mutation's expected etag (or expected absence) no longer holds; nothing was written.

    `revision` is the store's latest revision when it refused, so the caller can catch up and re-check.
    """

    def __init__(self, name: str, revision: int, message: str) -> None:
        self.name = name
        self.revision = revision
        super().__init__(message)


class DuplicateRequestError(RegistryError):
    """The change's request id was committed before; `records` are what that first commit wrote."""

    def __init__(self, request_id: str, records: Sequence[ChangeRecord]) -> None:
        self.request_id = request_id
        self.records = tuple(records)
        super().__init__(f"request id {request_id!r} was already applied")


class RegistryStore(Protocol):
    """A durable home for the registry's agents and its change history."""

    async def load(self) -> LoadResult:
        """Reads everything stored; seeds the store from its defaults when it holds nothing yet."""
        ...

    async def commit(self, change: Change) -> int:
        """Writes `change` durably and returns the revision of its last record.

        Raises StoreConflictError when an expected etag does not hold, DuplicateRequestError when the
        request id was committed before, StorageUnavailableError when the store cannot be written.
        """
        ...

    async def changes_since(self, revision: int, limit: int = 1000) -> list[ChangeRecord]:
        """Up to `limit` records after `revision`, oldest first; RevisionCompactedError if no longer kept."""
        ...

    def subscribe(self, listener: ChangeListener) -> None:
        """Calls `listener` with every change committed by another instance sharing the store."""
        ...

    async def close(self) -> None:
        """Finishes pending work (for the journal: compacts it) and releases the store."""
        ...
