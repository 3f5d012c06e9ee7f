"""RouterClient: the typed async client of RouterService."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from agent_registry_client.base import Metadata, ServiceClient
from agent_registry_client.channel import DEFAULT_TARGET, DEFAULT_TIMEOUT_S, TlsOptions
from agent_registry_client.errors import error_from_rpc
from agent_registry_client.routing_models import AgentResult, Completed, RoutingDecision, TurnEvent
from agentregistry.v1 import router_service_pb2 as pb
from agentregistry.v1 import router_service_pb2_grpc

DEFAULT_TURN_TIMEOUT_S = 120.0


class RouterClient(ServiceClient):
    """Routes user turns. Use as `async with RouterClient(target) as router:`."""

    stub_type = router_service_pb2_grpc.RouterServiceStub
    stub: router_service_pb2_grpc.RouterServiceStub

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        turn_timeout: float = DEFAULT_TURN_TIMEOUT_S,
        channel: aio.Channel | None = None,
        token: str | None = "",
        tls: TlsOptions | None = None,
        metadata: Metadata = (),
    ) -> None:
        """`turn_timeout` bounds a whole RouteAndInvoke stream; `timeout` each unary call."""
        super().__init__(target, timeout=timeout, channel=channel, token=token, tls=tls, metadata=metadata)
        self._turn_timeout = turn_timeout

    async def route(
        self,
        query: str,
        *,
        session_id: str = "",
        user_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> RoutingDecision:
        """Which agents would answer `query`, without running them."""
        request = pb.RouteRequest(query=query, session_id=session_id, user_id=user_id)
        return RoutingDecision.from_proto(
            (await self._call(self.stub.Route, request, timeout=timeout, metadata=metadata)).decision
        )

    async def route_and_invoke(
        self,
        query: str,
        *,
        session_id: str = "",
        user_id: str = "",
        timeout: float | None = None,
        metadata: Metadata = (),
    ) -> AsyncIterator[TurnEvent]:
        """The decision, then each agent's result as it finishes, then the combined answer.

        Leaving the loop early cancels the call and the agents still running on the server.
        """
        request = pb.RouteAndInvokeRequest(query=query, session_id=session_id, user_id=user_id)
        call = self.stub.RouteAndInvoke(
            request,
            timeout=self._turn_timeout if timeout is None else timeout,
            metadata=self._call_metadata(metadata),
        )
        try:
            async for message in call:
                kind = message.WhichOneof("event")
                if kind == "decision":
                    yield RoutingDecision.from_proto(message.decision)
                elif kind == "agent_result":
                    yield AgentResult.from_proto(message.agent_result)
                elif kind == "completed":
                    yield Completed(message.completed.combined_response, message.completed.session_id)
        except aio.AioRpcError as error:
            raise error_from_rpc(error) from None
        finally:
            call.cancel()
