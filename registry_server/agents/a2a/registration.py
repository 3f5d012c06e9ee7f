"""Registering an A2A agent: its card is read first, and what the registry keeps of it goes in the spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from registry_server.agents.a2a.capabilities import capabilities_from_card, name_from_card
from registry_server.domain.agent import A2ACard, A2AEndpoint, AgentSpec, Capabilities
from registry_server.domain.errors import ValidationError
from registry_server.registry.endpoint_validation import endpoint_violations
from registry_server.registry.validation import MAX_DESCRIPTION_CHARS, normalise_spec

CARD_TIMEOUT_S = 5.0


async def read_card(endpoint: A2AEndpoint, timeout_s: float = CARD_TIMEOUT_S) -> A2ACard:
    """What the registry keeps of the endpoint's card; raises A2ACardError when it cannot be used."""
    # Imported on first use, as a2a-sdk's client is costly to import (see registry.agent_build.build_runtime).
    from registry_server.agents.a2a.card import card_summary, fetch_card, http_client

    async with http_client(endpoint.headers, timeout_s) as http:
        return card_summary(await fetch_card(http, endpoint.url, timeout_s))


async def with_card(spec: AgentSpec, prefix: str = "agent") -> AgentSpec:
    """An A2A spec with its card kept; an empty description and empty capabilities come from the card.

    The spec is validated before the card is read, so a malformed request never reaches the network.
    """
    if spec.a2a is None:
        return spec
    normalise_spec(spec, prefix)
    card = await read_card(spec.a2a)
    return replace(
        spec,
        description=spec.description or card.description[:MAX_DESCRIPTION_CHARS],
        capabilities=spec.capabilities
        if spec.capabilities != Capabilities()
        else capabilities_from_card(card),
        a2a=replace(spec.a2a, card=card),
    )


async def spec_from_card(url: str, name: str, headers: Mapping[str, str]) -> AgentSpec:
    """The spec of the agent whose card is at `url`: name, description and capabilities from the card."""
    endpoint = A2AEndpoint(url, dict(headers))
    violations = endpoint_violations(endpoint, "")
    if violations:
        raise ValidationError([replace(v, field=v.field.lstrip(".")) for v in violations])
    card = await read_card(endpoint)
    return AgentSpec(
        name=name or name_from_card(card),
        description=card.description[:MAX_DESCRIPTION_CHARS],
        capabilities=capabilities_from_card(card),
        a2a=replace(endpoint, card=card),
    )
