"""RegistryClient: the typed async client of RegistryService."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from google.protobuf import field_mask_pb2
from grpc import aio

from agent_registry_client.base import Metadata, ServiceClient
from agent_registry_client.errors import error_from_rpc
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
from agent_registry_client.routing_models import Candidate
from agentregistry.v1 import agent_pb2, registry_service_pb2_grpc
from agentregistry.v1 import registry_service_pb2 as pb


class RegistryClient(ServiceClient):
    """Manages the agents of an Agent Registry server. Use as `async with RegistryClient(target) as c:`.

    Every mutation carries a request id (a new UUID unless `request_id` is given), so the channel's
    automatic retries on UNAVAILABLE never apply a change twice.
    """

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
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> AgentPage:
        """One page of agents in name order; pass `next_page_token` back for the next."""
        request = pb.ListAgentsRequest(
            page_size=page_size, page_token=page_token, tag=tag, domain=domain, state=state.value
        )
        if enabled is not None:
            request.enabled = enabled
        response = await self._call(self.stub.ListAgents, request, timeout=timeout, metadata=metadata)
        return AgentPage(
            agents=[Agent.from_proto(agent) for agent in response.agents],
            next_page_token=response.next_page_token,
            total_size=response.total_size,
            revision=response.revision,
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

    async def get_agent(self, name: str, *, timeout: float | None = None, metadata: Metadata = ()) -> Agent:
        """The agent called `name`; raises NotFound."""
        response = await self._call(
            self.stub.GetAgent, pb.GetAgentRequest(name=name), timeout=timeout, metadata=metadata
        )
        return Agent.from_proto(response.agent)

    async def register_agent(
        self, agent: Agent, *, request_id: str = "", timeout: float | None = None, metadata: Metadata = ()
    ) -> Agent:
        """Registers `agent`; raises AlreadyExists, InvalidArgument or FailedPrecondition (factory failed)."""
        request = pb.RegisterAgentRequest(agent=agent.to_proto(), request_id=_request_id(request_id))
        response = await self._call(self.stub.RegisterAgent, request, timeout=timeout, metadata=metadata)
        return Agent.from_proto(response.agent)

    async def batch_register_agents(
        self,
        agents: Sequence[Agent],
        *,
        request_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> list[Agent]:
        """Registers every agent or none."""
        request = pb.BatchRegisterAgentsRequest(
            agents=[agent.to_proto() for agent in agents], request_id=_request_id(request_id)
        )
        response = await self._call(
            self.stub.BatchRegisterAgents, request, timeout=timeout, metadata=metadata
        )
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
        request_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
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
        request = pb.UpdateAgentRequest(
            agent=message,
            update_mask=field_mask_pb2.FieldMask(paths=paths),
            request_id=_request_id(request_id),
        )
        return Agent.from_proto(
            (await self._call(self.stub.UpdateAgent, request, timeout=timeout, metadata=metadata)).agent
        )

    async def import_agent_card(
        self, url: str, *, name: str = "", headers: dict[str, str] | None = None, request_id: str = ""
    ) -> Agent:
        """Registers the A2A agent at `url` from its card alone; raises FailedPrecondition if unreadable."""
        request = pb.ImportAgentCardRequest(
            url=url, name=name, headers=headers or {}, request_id=_request_id(request_id)
        )
        return Agent.from_proto((await self._call(self.stub.ImportAgentCard, request)).agent)

    async def set_agent_enabled(
        self,
        name: str,
        enabled: bool,
        *,
        etag: str = "",
        request_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> Agent:
        """Enables or disables routing to the agent."""
        request = pb.SetAgentEnabledRequest(
            name=name, enabled=enabled, etag=etag, request_id=_request_id(request_id)
        )
        return Agent.from_proto(
            (await self._call(self.stub.SetAgentEnabled, request, timeout=timeout, metadata=metadata)).agent
        )

    async def keep_alive(
        self,
        name: str,
        *,
        ttl: timedelta | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> datetime:
        """Renews the agent's lease (starting one when `ttl` is given); returns when it runs out next."""
        request = pb.KeepAliveRequest(name=name)
        if ttl is not None:
            request.ttl.FromTimedelta(ttl)
        response: pb.KeepAliveResponse = await self._call(
            self.stub.KeepAlive, request, timeout=timeout, metadata=metadata
        )
        return response.expire_time.ToDatetime(tzinfo=UTC)

    async def delete_agent(
        self,
        name: str,
        *,
        etag: str = "",
        request_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> None:
        """Deletes the agent; raises NotFound, or Conflict when `etag` is stale."""
        request = pb.DeleteAgentRequest(name=name, etag=etag, request_id=_request_id(request_id))
        await self._call(self.stub.DeleteAgent, request, timeout=timeout, metadata=metadata)

    async def reload_agent(
        self, name: str, *, request_id: str = "", timeout: float | None = None, metadata: Metadata = ()
    ) -> Agent:
        """Re-imports the agent's factory module and rebuilds it; raises FailedPrecondition if it fails."""
        request = pb.ReloadAgentRequest(name=name, request_id=_request_id(request_id))
        response = await self._call(self.stub.ReloadAgent, request, timeout=timeout, metadata=metadata)
        return Agent.from_proto(response.agent)

    async def export_registry(
        self, fmt: Literal["json", "yaml"] = "json", *, timeout: float | None = None, metadata: Metadata = ()
    ) -> str:
        """The whole registry document."""
        export_format = pb.EXPORT_FORMAT_YAML if fmt == "yaml" else pb.EXPORT_FORMAT_JSON
        response: pb.ExportRegistryResponse = await self._call(
            self.stub.ExportRegistry,
            pb.ExportRegistryRequest(format=export_format),
            timeout=timeout,
            metadata=metadata,
        )
        return response.content

    async def search_agents(
        self, query: str, *, last_agent: str = "", timeout: float | None = None, metadata: Metadata = ()
    ) -> list[Candidate]:
        """Stage-1 candidates for `query` with their scores and reasons (routing's view, nothing runs)."""
        request = pb.SearchAgentsRequest(query=query, last_agent=last_agent)
        response = await self._call(self.stub.SearchAgents, request, timeout=timeout, metadata=metadata)
        return [Candidate.from_proto(candidate) for candidate in response.candidates]

    async def watch(
        self, since_revision: int | None = None, *, metadata: Metadata = ()
    ) -> AsyncGenerator[AgentChange, None]:
        """Every change after `since_revision` (None: from now on), then each new one as it happens.

        The stream has no deadline. It raises RevisionCompacted when the changes after `since_revision`
        are no longer kept (list again and watch from `AgentPage.revision`), and Unavailable when the
        connection is lost: watch again from the revision of the last change received, nothing is missed.
        """
        request = pb.WatchAgentsRequest()
        if since_revision is not None:
            request.since_revision = since_revision
        call = self.stub.WatchAgents(request, metadata=self._call_metadata(metadata))
        try:
            async for response in call:
                yield _change_from_proto(response.change)
        except aio.AioRpcError as error:
            raise error_from_rpc(error) from None
        finally:
            call.cancel()


def _request_id(given: str) -> str:
    return given or str(uuid.uuid4())


def _change_from_proto(change: pb.AgentChange) -> AgentChange:
    if change.type == pb.AGENT_CHANGE_TYPE_DELETE:
        return AgentChange(change.revision, ChangeType.DELETE, change.name)
    return AgentChange(change.revision, ChangeType.PUT, change.name, Agent.from_proto(change.agent))
