"""Typed async client of the Agent Registry service, as used by the Jarvis orchestrator.

`async with connect("localhost:8003", token=...) as client:` gives `client.registry`, `client.sessions` and
`client.router` over one channel.
"""

from agent_registry_client.agent_cache import AgentCache
from agent_registry_client.base import Metadata
from agent_registry_client.channel import TlsOptions
from agent_registry_client.connect import AgentRegistry, connect
from agent_registry_client.errors import (
    AgentRegistryError,
    AlreadyExists,
    Cancelled,
    Conflict,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    RevisionCompacted,
    StatusCode,
    Unauthenticated,
    Unavailable,
)
from agent_registry_client.models import (
    A2AEndpoint,
    Agent,
    AgentChange,
    AgentPage,
    AgentState,
    Capabilities,
    ChangeType,
    Factory,
)
from agent_registry_client.registry import RegistryClient
from agent_registry_client.router import RouterClient
from agent_registry_client.routing_models import (
    AgentChunk,
    AgentResult,
    Candidate,
    Completed,
    RoutingCase,
    RoutingDecision,
    RoutingMiss,
    RoutingReport,
    Stage2,
    TurnEvent,
)
from agent_registry_client.session_models import (
    AgentStats,
    HistoryEntry,
    Invocation,
    Role,
    Session,
    SessionList,
    SessionPage,
    SessionStatus,
)
from agent_registry_client.sessions import SessionClient

__all__ = [
    "A2AEndpoint",
    "Agent",
    "AgentCache",
    "AgentChange",
    "AgentChunk",
    "AgentPage",
    "AgentRegistry",
    "AgentRegistryError",
    "AgentResult",
    "AgentState",
    "AgentStats",
    "AlreadyExists",
    "Cancelled",
    "Candidate",
    "Capabilities",
    "ChangeType",
    "Completed",
    "Conflict",
    "DeadlineExceeded",
    "Factory",
    "FailedPrecondition",
    "FieldViolation",
    "HistoryEntry",
    "Internal",
    "InvalidArgument",
    "Invocation",
    "Metadata",
    "NotFound",
    "PermissionDenied",
    "RegistryClient",
    "ResourceExhausted",
    "RevisionCompacted",
    "Role",
    "RouterClient",
    "RoutingCase",
    "RoutingDecision",
    "RoutingMiss",
    "RoutingReport",
    "Session",
    "SessionClient",
    "SessionList",
    "SessionPage",
    "SessionStatus",
    "Stage2",
    "StatusCode",
    "TlsOptions",
    "TurnEvent",
    "Unauthenticated",
    "Unavailable",
    "connect",
]
