"""Serves any runnable agent (`run(query, context)`) as an A2A service, with a2a-sdk and Starlette."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from a2a.helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol
from google.protobuf import json_format
from starlette.applications import Starlette

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500


class RunnableAgentExecutor(AgentExecutor):
    """Runs one agent per A2A task: each str chunk it yields becomes an artifact update, streamed."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Answers the task's message; an exception from the agent fails the task with its message."""
        message = context.message
        if message is None:
            return
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        try:
            first = True
            async for chunk in _chunks(self.agent, context.get_user_input(), _context_of(message.metadata)):
                await updater.add_artifact(
                    [new_text_part(chunk)], artifact_id=f"{task.id}-answer", name="answer", append=not first
                )
                first = False
        except Exception as error:
            log.exception("agent failed on task %s", task.id)
            text = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            await updater.failed(new_text_message(text, context_id=task.context_id, task_id=task.id))
            return
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Marks the task cancelled; a2a-sdk has already cancelled the running `execute`."""
        log.info("task %s cancelled by the caller", context.task_id)
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


async def _chunks(agent: Any, query: str, context: Mapping[str, Any]) -> Any:
    """The agent's answer as chunks: one for an awaited str, each item for an async iterator."""
    result = agent.run(query, context)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        yield result
        return
    async for chunk in result:
        yield str(chunk)


def _context_of(metadata: Any) -> dict[str, Any]:
    """The caller's context (previous query and answer), sent as the message's metadata `context`."""
    as_dict = json_format.MessageToDict(metadata) if metadata is not None else {}
    context = as_dict.get("context") if isinstance(as_dict, dict) else None
    return context if isinstance(context, dict) else {}


def agent_card(
    name: str, description: str, url: str, skills: Sequence[AgentSkill], *, streaming: bool = True
) -> AgentCard:
    """The card of an agent served at `url` over JSON-RPC."""
    return AgentCard(
        name=name,
        description=description,
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=url, protocol_binding=TransportProtocol.JSONRPC, protocol_version=PROTOCOL_VERSION_CURRENT
            )
        ],
        capabilities=AgentCapabilities(streaming=streaming),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=list(skills),
    )


def a2a_app(card: AgentCard, executor: AgentExecutor) -> Starlette:
    """The Starlette app serving the card at /.well-known/agent-card.json and JSON-RPC at /."""
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card)
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
