"""Reads an A2A agent card and keeps what the registry needs of it."""

from __future__ import annotations

import logging

import httpx
from a2a.client import A2ACardResolver, A2AClientError
from a2a.types.a2a_pb2 import AgentCard
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH, TransportProtocol

from registry_server.domain.agent import A2ACard, A2ASkill
from registry_server.domain.errors import FactoryError

MAX_CAUSE_CHARS = 300

# Both log every card read at INFO, the resolver with the whole card: with probes every few seconds, that
# would bury the server's own log.
logging.getLogger("a2a.client.card_resolver").setLevel(logging.WARNING)
logging.getLogger("httpx").setLevel(logging.WARNING)


class A2ACardError(FactoryError):
    """An A2A agent whose card cannot be read, or whose card the registry cannot use."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__("a2a", url, f"the A2A agent card at {card_url(url)} cannot be used: {cause}")
        self.url = url

    def __str__(self) -> str:
        return self.cause


def card_url(url: str) -> str:
    """Where the card of the agent at base `url` is served."""
    return url.rstrip("/") + AGENT_CARD_WELL_KNOWN_PATH


def http_client(headers: dict[str, str], timeout_s: float) -> httpx.AsyncClient:
    """An HTTP client that sends the agent's own auth headers; `timeout_s` bounds connecting and reading."""
    return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s), follow_redirects=False)


async def fetch_card(http: httpx.AsyncClient, url: str, timeout_s: float) -> AgentCard:
    """The agent card at `url`, checked for what the registry needs; raises A2ACardError."""
    try:
        card = await A2ACardResolver(http, url).get_agent_card(http_kwargs={"timeout": timeout_s})
    except A2AClientError as error:
        raise A2ACardError(url, _cause(error)) from error
    except (httpx.HTTPError, ValueError) as error:  # e.g. a body that is not UTF-8
        raise A2ACardError(url, _cause(error)) from error
    problem = card_problem(card)
    if problem:
        raise A2ACardError(url, problem)
    return card


def card_problem(card: AgentCard) -> str | None:
    """Why the registry cannot call the agent this card describes, or None."""
    if not card.name.strip():
        return "the card has no name"
    if jsonrpc_interface_url(card) is None:
        return "the card offers no JSON-RPC interface (supportedInterfaces with protocolBinding JSONRPC)"
    return None


def jsonrpc_interface_url(card: AgentCard) -> str | None:
    """The URL of the card's first JSON-RPC interface."""
    for interface in card.supported_interfaces:
        if interface.protocol_binding == TransportProtocol.JSONRPC and interface.url:
            return str(interface.url)
    return None


def card_summary(card: AgentCard) -> A2ACard:
    """What the registry stores of a card."""
    return A2ACard(
        name=card.name,
        description=card.description,
        interface_url=jsonrpc_interface_url(card) or "",
        streaming=card.capabilities.streaming,
        skills=tuple(
            A2ASkill(
                id=skill.id,
                name=skill.name,
                description=skill.description,
                tags=tuple(skill.tags),
                examples=tuple(skill.examples),
            )
            for skill in card.skills
        ),
    )


def _cause(error: BaseException) -> str:
    """A short, single-line cause: the error's own text, or its class when it has none."""
    text = " ".join(str(error).split()) or type(error).__name__
    cause = error.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.TimeoutException):
        text = f"{type(cause).__name__}: {' '.join(str(cause).split()) or 'no answer'}"
    return text[:MAX_CAUSE_CHARS]
