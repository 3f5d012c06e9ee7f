"""RegistryService: translates each RPC to an AgentRegistry call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from datetime import timedelta
from typing import Any

import yaml
from grpc import aio

from agentregistry.v1 import agent_pb2, registry_service_pb2_grpc
from agentregistry.v1 import registry_service_pb2 as pb
from registry_server.agents.a2a.headers import masked_document, unmasked
from registry_server.agents.a2a.registration import read_card, spec_from_card, with_card
from registry_server.api.agent_messages import (
    AgentMessageCache,
    agent_to_proto,
    changes_from_proto,
    spec_from_proto,
    state_from_proto,
)
from registry_server.api.lease_messages import keep_alive_response, ttl_from_proto, with_lease
from registry_server.api.request_ids import request_key
from registry_server.api.routing_messages import candidates_to_proto
from registry_server.domain.agent import A2AEndpoint, AgentState, RegisteredAgent
from registry_server.domain.errors import ValidationError
from registry_server.domain.paging import encode_page_token, parse_page_request
from registry_server.domain.routing import SessionContext
from registry_server.registry.agent_listing import AgentFilter
from registry_server.registry.agent_registry import AgentRegistry
from registry_server.registry.endpoint_validation import endpoint_violations
from registry_server.registry.leases import LeaseKeeper, MemoryLeaseStore
from registry_server.registry.store import ChangeKind, ChangeRecord
from registry_server.registry.validation import validate_name
from registry_server.routing.router import Router

MAX_BATCH = 1000

Context = aio.ServicerContext[Any, Any]


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    """The RegistryService over one AgentRegistry."""

    def __init__(self, registry: AgentRegistry, router: Router, leases: LeaseKeeper | None = None) -> None:
        self._registry = registry
        self._router = router
        self._leases = leases or LeaseKeeper(registry, MemoryLeaseStore())
        self._messages = AgentMessageCache()
        registry.add_listener(self._messages.forget)

    def _message(self, name: str) -> agent_pb2.Agent:
        """The agent's message, with its lease TTL when it holds a lease."""
        return with_lease(self._messages.message(self._registry.get(name)), self._leases.lease_of(name))

    async def ListAgents(self, request: pb.ListAgentsRequest, context: Context) -> pb.ListAgentsResponse:
        agent_filter = AgentFilter(
            tag=request.tag,
            domain=request.domain,
            enabled=request.enabled if request.HasField("enabled") else None,
            state=state_from_proto(request.state),
        )
        filters = {
            "tag": agent_filter.tag,
            "domain": agent_filter.domain.casefold(),
            "enabled": agent_filter.enabled,
            "state": request.state,
        }
        page = self._registry.list_agents(
            agent_filter, parse_page_request(request.page_size, request.page_token, filters)
        )
        return pb.ListAgentsResponse(
            agents=[self._message(agent.name) for agent in page.agents],
            next_page_token=encode_page_token(page.next_cursor, filters) if page.next_cursor else "",
            total_size=page.total_size,
            revision=self._registry.revision,
        )

    async def GetAgent(self, request: pb.GetAgentRequest, context: Context) -> pb.GetAgentResponse:
        return pb.GetAgentResponse(agent=self._message(request.name))

    async def RegisterAgent(
        self, request: pb.RegisterAgentRequest, context: Context
    ) -> pb.RegisterAgentResponse:
        ttl = ttl_from_proto(request.agent, "agent.lease_ttl")
        spec = await with_card(spec_from_proto(request.agent, "agent"))
        agent = await self._registry.register(spec, request_key("RegisterAgent", request))
        await self._start_lease(agent, ttl)
        return pb.RegisterAgentResponse(
            agent=with_lease(agent_to_proto(agent), self._leases.lease_of(agent.name))
        )

    async def BatchRegisterAgents(
        self, request: pb.BatchRegisterAgentsRequest, context: Context
    ) -> pb.BatchRegisterAgentsResponse:
        if len(request.agents) > MAX_BATCH:
            raise ValidationError.single(
                "agents", f"holds {len(request.agents)} agents; at most {MAX_BATCH} per batch"
            )
        ttls = [ttl_from_proto(agent, f"agents[{i}].lease_ttl") for i, agent in enumerate(request.agents)]
        specs = [spec_from_proto(agent, f"agents[{i}]") for i, agent in enumerate(request.agents)]
        specs = [await with_card(spec, f"agents[{i}]") for i, spec in enumerate(specs)]
        agents = await self._registry.register_many(
            specs, request=request_key("BatchRegisterAgents", request)
        )
        for agent, ttl in zip(agents, ttls, strict=True):
            await self._start_lease(agent, ttl)
        return pb.BatchRegisterAgentsResponse(
            agents=[with_lease(agent_to_proto(agent), self._leases.lease_of(agent.name)) for agent in agents]
        )

    async def _start_lease(self, agent: RegisteredAgent, ttl: timedelta | None) -> None:
        """Starts the lease of a just-registered agent.

        A retried request (same request_id) starts none: its agent holds its lease already, or has since
        been changed or deleted, and the retry answers as the first request did.
        """
        current = self._registry.find(agent.name)
        if ttl is None or current is None or current.etag != agent.etag:
            return
        if self._leases.lease_of(agent.name) is None:
            await self._leases.grant(agent.name, ttl)

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, context: Context) -> pb.UpdateAgentResponse:
        validate_name(request.agent.name, "agent.name")
        changes = changes_from_proto(request.agent, list(request.update_mask.paths))
        if changes.get("a2a") is not None:
            changes["a2a"] = await self._endpoint_with_card(request.agent.name, changes["a2a"])
        agent = await self._registry.update(
            request.agent.name, changes, request.agent.etag, request_key("UpdateAgent", request)
        )
        return pb.UpdateAgentResponse(agent=agent_to_proto(agent))

    async def SetAgentEnabled(
        self, request: pb.SetAgentEnabledRequest, context: Context
    ) -> pb.SetAgentEnabledResponse:
        agent = await self._registry.set_enabled(
            request.name, request.enabled, request.etag, request_key("SetAgentEnabled", request)
        )
        return pb.SetAgentEnabledResponse(agent=agent_to_proto(agent))

    async def DeleteAgent(self, request: pb.DeleteAgentRequest, context: Context) -> pb.DeleteAgentResponse:
        await self._registry.delete(request.name, request.etag, request_key("DeleteAgent", request))
        await self._leases.revoke(request.name)
        return pb.DeleteAgentResponse()

    async def ReloadAgent(self, request: pb.ReloadAgentRequest, context: Context) -> pb.ReloadAgentResponse:
        agent = await self._registry.reload(request.name, request_key("ReloadAgent", request))
        return pb.ReloadAgentResponse(agent=agent_to_proto(agent))

    async def ExportRegistry(
        self, request: pb.ExportRegistryRequest, context: Context
    ) -> pb.ExportRegistryResponse:
        document = masked_document(self._registry.export_document())
        if request.format == pb.EXPORT_FORMAT_YAML:
            content = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
            content_type = "application/yaml"
        else:
            content = json.dumps(document, indent=2, ensure_ascii=False)
            content_type = "application/json"
        return pb.ExportRegistryResponse(
            content=content, content_type=content_type, agent_count=len(document["agents"])
        )

    async def ImportAgentCard(
        self,
        request: pb.ImportAgentCardRequest,
        context: aio.ServicerContext[pb.ImportAgentCardRequest, pb.ImportAgentCardResponse],
    ) -> pb.ImportAgentCardResponse:
        if request.name:
            validate_name(request.name)
        key = request_key("ImportAgentCard", request)
        spec = await spec_from_card(request.url, request.name, dict(request.headers))
        agent = await self._registry.register(spec, key)
        return pb.ImportAgentCardResponse(agent=agent_to_proto(agent))

    async def _endpoint_with_card(self, name: str, endpoint: A2AEndpoint) -> A2AEndpoint:
        """The endpoint of an update: masked header values sent back keep the stored ones; its card read."""
        current = self._registry.get(name).spec.a2a
        if current is not None:
            endpoint = replace(endpoint, headers=unmasked(endpoint.headers, current.headers))
        violations = endpoint_violations(endpoint, "agent.a2a")
        if violations:
            raise ValidationError(violations)
        return replace(endpoint, card=await read_card(endpoint))

    async def SearchAgents(
        self, request: pb.SearchAgentsRequest, context: Context
    ) -> pb.SearchAgentsResponse:
        if request.last_agent:
            validate_name(request.last_agent, "last_agent")
        candidates = self._router.candidates(request.query, SessionContext(last_agent=request.last_agent))
        return pb.SearchAgentsResponse(candidates=candidates_to_proto(candidates))

    async def KeepAlive(self, request: pb.KeepAliveRequest, context: Context) -> pb.KeepAliveResponse:
        validate_name(request.name)
        lease = await self._leases.keep_alive(request.name, ttl_from_proto(request, "ttl"))
        return keep_alive_response(lease)

    async def WatchAgents(
        self, request: pb.WatchAgentsRequest, context: Context
    ) -> AsyncIterator[pb.WatchAgentsResponse]:
        since = request.since_revision if request.HasField("since_revision") else None
        if since is not None and since < 0:
            raise ValidationError.single("since_revision", f"is {since}; revisions start at 0")
        async with aclosing(self._registry.watch(since)) as changes:
            async for record in changes:
                yield pb.WatchAgentsResponse(change=self._change_to_proto(record))

    def _change_to_proto(self, record: ChangeRecord) -> pb.AgentChange:
        """A change as sent on the watch stream, with the agent's state here when it is still current."""
        change = pb.AgentChange(revision=record.revision, name=record.name)
        if record.kind is ChangeKind.DELETE or record.agent is None:
            change.type = pb.AGENT_CHANGE_TYPE_DELETE
            return change
        change.type = pb.AGENT_CHANGE_TYPE_PUT
        stored = record.agent
        current = self._registry.find(record.name)
        if current is not None and current.etag == stored.etag:
            change.agent.CopyFrom(self._messages.message(current))
            return change
        agent = RegisteredAgent(stored.spec, stored.etag, AgentState.AVAILABLE, revision=stored.revision)
        change.agent.CopyFrom(agent_to_proto(agent))
        change.agent.ClearField("state")
        return change
