"""RouterService: Route and the streaming RouteAndInvoke."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from agentregistry.v1 import router_service_pb2 as pb
from agentregistry.v1 import router_service_pb2_grpc
from registry_server.api.routing_messages import (
    cases_from_proto,
    chunk_to_proto,
    fill_decision,
    report_to_proto,
    result_to_proto,
)
from registry_server.auth.isolation import acting_user, check_visible
from registry_server.domain.errors import NotFoundError
from registry_server.domain.routing import AgentChunk, AgentResult, RoutingDecision, SessionContext
from registry_server.routing.evaluation import evaluate
from registry_server.routing.invoker import InvocationLimits
from registry_server.routing.routed_session import routed_session
from registry_server.routing.router import Router
from registry_server.routing.turns import TurnRunner
from registry_server.sessions.event_validation import validate_request_id
from registry_server.sessions.store import SessionStore
from registry_server.sessions.validation import validate_session_id, validate_user_id


class RouterServicer(router_service_pb2_grpc.RouterServiceServicer):
    """The RouterService over a Router and the session store."""

    def __init__(
        self, router: Router, sessions: SessionStore, limits: InvocationLimits | None = None
    ) -> None:
        self._router = router
        self._sessions = sessions
        self._turns = TurnRunner(router, sessions, limits)

    async def Route(
        self, request: pb.RouteRequest, context: aio.ServicerContext[pb.RouteRequest, pb.RouteResponse]
    ) -> pb.RouteResponse:
        self._router.validate_query(request.query)
        session_context = SessionContext()
        if request.user_id:
            validate_user_id(request.user_id)
        user_id = acting_user(request.user_id)
        if request.session_id:
            validate_session_id(request.session_id)
            session = check_visible(await routed_session(self._sessions, request.session_id))
            if user_id and session.user_id != user_id:
                raise NotFoundError(f"no session has id {request.session_id!r}")
            session_context = SessionContext(
                session.session_id, session.last_agent_called, session.last_query, session.last_response
            )
        response = pb.RouteResponse()
        fill_decision(response.decision, await self._router.decide(request.query, session_context))
        return response

    async def EvaluateRouting(
        self,
        request: pb.EvaluateRoutingRequest,
        context: aio.ServicerContext[pb.EvaluateRoutingRequest, pb.EvaluateRoutingResponse],
    ) -> pb.EvaluateRoutingResponse:
        report = await evaluate(self._router, cases_from_proto(request.cases), request.max_misses)
        return report_to_proto(report)

    async def RouteAndInvoke(
        self,
        request: pb.RouteAndInvokeRequest,
        context: aio.ServicerContext[pb.RouteAndInvokeRequest, pb.RouteAndInvokeResponse],
    ) -> AsyncIterator[pb.RouteAndInvokeResponse]:
        if request.user_id:
            validate_user_id(request.user_id)
        validate_request_id(request.request_id)
        events = self._turns.run(
            request.query, request.session_id, acting_user(request.user_id), request_id=request.request_id
        )
        try:
            async for event in events:
                if isinstance(event, AgentChunk):
                    yield pb.RouteAndInvokeResponse(agent_chunk=chunk_to_proto(event))
                elif isinstance(event, RoutingDecision):
                    response = pb.RouteAndInvokeResponse()
                    fill_decision(response.decision, event)
                    yield response
                elif isinstance(event, AgentResult):
                    yield pb.RouteAndInvokeResponse(agent_result=result_to_proto(event))
                else:
                    completed = pb.Completed(
                        combined_response=event.combined_response, session_id=event.session_id
                    )
                    yield pb.RouteAndInvokeResponse(completed=completed)
        finally:
            # On cancellation this cancels the agents still running and drops what was buffered for them.
            await events.aclose()
