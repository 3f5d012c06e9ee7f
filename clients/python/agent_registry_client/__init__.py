"""Typed async client of the Agent Registry service, as used by the Jarvis orchestrator."""

from agent_registry_client.agent_cache import AgentCache
from agent_registry_client.channel import TlsOptions
from agent_registry_client.errors import (
    AgentRegistryError,
    AlreadyExists,
    Conflict,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RevisionCompacted,
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
from agent_registry_client.routing_models import AgentResult, Candidate, Completed, RoutingDecision, TurnEvent
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
    "AgentPage",
    "AgentRegistryError",
    "AgentResult",
    "AgentState",
    "AgentStats",
    "AlreadyExists",
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
    "InvalidArgument",
    "Invocation",
    "NotFound",
    "PermissionDenied",
    "RegistryClient",
    "RevisionCompacted",
    "Role",
    "RouterClient",
    "RoutingDecision",
    "Session",
    "SessionClient",
    "SessionList",
    "SessionPage",
    "SessionStatus",
    "TlsOptions",
    "TurnEvent",
    "Unauthenticated",
    "Unavailable",
]
