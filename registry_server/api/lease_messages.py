"""Proto <-> domain conversion of agent leases."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import duration_pb2

from agentregistry.v1 import agent_pb2
from agentregistry.v1 import registry_service_pb2 as pb
from registry_server.domain.errors import ValidationError
from registry_server.registry.leases import Lease, validate_ttl


def ttl_from_proto(message: agent_pb2.Agent | pb.KeepAliveRequest, field: str) -> timedelta | None:
    """The TTL a request asks for (None when unset), checked against the allowed range."""
    if isinstance(message, agent_pb2.Agent):
        if not message.HasField("lease_ttl"):
            return None
        duration: duration_pb2.Duration = message.lease_ttl
    else:
        if not message.HasField("ttl"):
            return None
        duration = message.ttl
    if duration.nanos < 0 or duration.seconds < 0 or duration.nanos >= 1_000_000_000:
        raise ValidationError.single(field, "must be a positive duration")
    ttl = duration.ToTimedelta()
    validate_ttl(ttl, field)
    return ttl


def with_lease(message: agent_pb2.Agent, lease: Lease | None) -> agent_pb2.Agent:
    """The agent's message with its lease TTL; the same message when it holds no lease."""
    if lease is None:
        return message
    leased = agent_pb2.Agent()
    leased.CopyFrom(message)
    leased.lease_ttl.FromTimedelta(lease.ttl)
    return leased


def keep_alive_response(lease: Lease) -> pb.KeepAliveResponse:
    """The lease's new deadline and its TTL."""
    response = pb.KeepAliveResponse()
    response.expire_time.FromDatetime(lease.deadline)
    response.ttl.FromTimedelta(lease.ttl)
    return response
