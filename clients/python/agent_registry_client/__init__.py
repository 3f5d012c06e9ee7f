"""Typed async client of the Agent Registry service, as used by the Jarvis orchestrator."""

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
    Unauthenticated,
    Unavailable,
)
from agent_registry_client.models import Agent, AgentPage, AgentState, Capabilities, Factory
from agent_registry_client.registry import RegistryClient

__all__ = [
    "Agent",
    "AgentPage",
    "AgentRegistryError",
    "AgentState",
    "AlreadyExists",
    "Capabilities",
    "Conflict",
    "DeadlineExceeded",
    "Factory",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "RegistryClient",
    "Unauthenticated",
    "Unavailable",
]
