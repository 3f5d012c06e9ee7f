"""RegistryClient: the typed async client of RegistryService."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from google.protobuf import field_mask_pb2

from agent_registry_client.base import ServiceClient
from agent_registry_client.models import A2AEndpoint, Agent, AgentPage, AgentState, Capabilities, Factory
from agent_registry_client.routing_models import Candidate
from agentregistry.v1 import agent_pb2, registry_service_pb2_grpc
from agentregistry.v1 import registry_service_pb2 as pb


class RegistryClient(ServiceClient):
    """Manages the agents of an Agent Registry server. Use as `async with RegistryClient(target) as c:`."""

    stub_type = registry_service_pb2_grpc.RegistryServiceStub
    stub: registry_service_pb2_grpc.RegistryServiceStub

    async def list_agents(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        tag: str = "",
        domain: str = "",
        enabled: bool | None = None,
        state: AgentState = AgentState.UNSPECIFIED,
    ) -> AgentPage:
        """One page of agents in name order; pass `next_page_token` back for the next."""
        request = pb.ListAgentsRequest(
            page_size=page_size, page_token=page_token, tag=tag, domain=domain, state=state.value
        )
        if enabled is not None:
            request.enabled = enabled
        response = await self._call(self.stub.ListAgents, request)
        return AgentPage(
            agents=[Agent.from_proto(agent) for agent in response.agents],
            next_page_token=response.next_page_token,
            total_size=response.total_size,
        )

    async def iter_agents(self, *, page_size: int = 0, **filters: Any) -> AsyncIterator[Agent]:
        """Every matching agent, fetching page after page."""
        token = ""
        while True:
            page = await self.list_agents(page_size=page_size, page_token=token, **filters)
            for agent in page.agents:
                yield agent
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def get_agent(self, name: str) -> Agent:
        """The agent called `name`; raises NotFound."""
        response = await self._call(self.stub.GetAgent, pb.GetAgentRequest(name=name))
        return Agent.from_proto(response.agent)

    async def register_agent(self, agent: Agent) -> Agent:
        """Registers `agent`; raises AlreadyExists, InvalidArgument or FailedPrecondition (factory failed)."""
        response = await self._call(self.stub.RegisterAgent, pb.RegisterAgentRequest(agent=agent.to_proto()))
        return Agent.from_proto(response.agent)

    async def batch_register_agents(self, agents: Sequence[Agent]) -> list[Agent]:
        """Registers every agent or none."""
        request = pb.BatchRegisterAgentsRequest(agents=[agent.to_proto() for agent in agents])
        response = await self._call(self.stub.BatchRegisterAgents, request)
        return [Agent.from_proto(agent) for agent in response.agents]

    async def update_agent(
        self,
        name: str,
        *,
        etag: str = "",
        description: str | None = None,
        factory: Factory | None = None,
        a2a: A2AEndpoint | None = None,
        tags: Sequence[str] | None = None,
        enabled: bool | None = None,
        capabilities: Capabilities | None = None,
        priority: int | None = None,
    ) -> Agent:
        """Replaces the fields given (not None); with `etag`, only if nobody changed the agent meanwhile."""
        message = agent_pb2.Agent(name=name, etag=etag)
        paths = []
        if description is not None:
            message.description = description
            paths.append("description")
        if factory is not None:
            message.factory.CopyFrom(factory.to_proto())
            paths.append("factory")
        if a2a is not None:
            message.a2a.CopyFrom(a2a.to_proto())
            paths.append("a2a")
        if tags is not None:
            message.tags.extend(tags)
            paths.append("tags")
        if enabled is not None:
            message.enabled = enabled
            paths.append("enabled")
        if capabilities is not None:
            message.capabilities.CopyFrom(capabilities.to_proto())
            paths.append("capabilities")
        if priority is not None:
            message.capabilities.priority = priority
            paths.append("capabilities.priority")
        request = pb.UpdateAgentRequest(agent=message, update_mask=field_mask_pb2.FieldMask(paths=paths))
        return Agent.from_proto((await self._call(self.stub.UpdateAgent, request)).agent)

    async def import_agent_card(
        self, url: str, *, name: str = "", headers: dict[str, str] | None = None
    ) -> Agent:
        """Registers the A2A agent at `url` from its card alone; raises FailedPrecondition if unreadable."""
        request = pb.ImportAgentCardRequest(url=url, name=name, headers=headers or {})
        return Agent.from_proto((await self._call(self.stub.ImportAgentCard, request)).agent)

    async def set_agent_enabled(self, name: str, enabled: bool, *, etag: str = "") -> Agent:
        """Enables or disables routing to the agent."""
        request = pb.SetAgentEnabledRequest(name=name, enabled=enabled, etag=etag)
        return Agent.from_proto((await self._call(self.stub.SetAgentEnabled, request)).agent)

    async def delete_agent(self, name: str, *, etag: str = "") -> None:
        """Deletes the agent; raises NotFound, or Conflict when `etag` is stale."""
        await self._call(self.stub.DeleteAgent, pb.DeleteAgentRequest(name=name, etag=etag))

    async def reload_agent(self, name: str) -> Agent:
        """Re-imports the agent's factory module and rebuilds it; raises FailedPrecondition if it fails."""
        response = await self._call(self.stub.ReloadAgent, pb.ReloadAgentRequest(name=name))
        return Agent.from_proto(response.agent)

    async def export_registry(self, fmt: Literal["json", "yaml"] = "json") -> str:
        """The whole registry document."""
        export_format = pb.EXPORT_FORMAT_YAML if fmt == "yaml" else pb.EXPORT_FORMAT_JSON
        response = await self._call(self.stub.ExportRegistry, pb.ExportRegistryRequest(format=export_format))
        return response.content

    async def search_agents(self, query: str, *, last_agent: str = "") -> list[Candidate]:
        """Stage-1 candidates for `query` with their scores and reasons (routing's view, nothing runs)."""
        request = pb.SearchAgentsRequest(query=query, last_agent=last_agent)
        response = await self._call(self.stub.SearchAgents, request)
        return [Candidate.from_proto(candidate) for candidate in response.candidates]
