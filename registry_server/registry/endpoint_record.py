"""An A2A endpoint in the registry document: `{"url": ..., "headers": {...}, "card": {...}}`."""

from __future__ import annotations

from typing import Any

from registry_server.domain.agent import A2ACard, A2AEndpoint, A2ASkill


class EndpointRecordError(ValueError):
    """A stored A2A endpoint of the wrong shape."""


def endpoint_to_record(endpoint: A2AEndpoint) -> dict[str, Any]:
    """The JSON-ready record of an endpoint, headers in full (the file is the registry's own)."""
    record: dict[str, Any] = {"url": endpoint.url, "headers": dict(endpoint.headers)}
    card = endpoint.card
    if card is not None:
        record["card"] = {
            "name": card.name,
            "description": card.description,
            "interface_url": card.interface_url,
            "streaming": card.streaming,
            "skills": [
                {
                    "id": skill.id,
                    "name": skill.name,
                    "description": skill.description,
                    "tags": list(skill.tags),
                    "examples": list(skill.examples),
                }
                for skill in card.skills
            ],
        }
    return record


def endpoint_from_record(record: object) -> A2AEndpoint:
    """The endpoint of a stored record; raises EndpointRecordError when it is malformed."""
    if not isinstance(record, dict):
        raise EndpointRecordError("a2a must be a mapping with a url")
    headers = record.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in headers.items()
    ):
        raise EndpointRecordError("a2a.headers must map header names to strings")
    card = record.get("card")
    return A2AEndpoint(
        url=_text(record.get("url", ""), "a2a.url"),
        headers=dict(headers),
        card=None if card is None else _card_from_record(card),
    )


def _card_from_record(record: object) -> A2ACard:
    if not isinstance(record, dict):
        raise EndpointRecordError("a2a.card must be a mapping")
    skills = record.get("skills") or []
    if not isinstance(skills, list):
        raise EndpointRecordError("a2a.card.skills must be a list")
    streaming = record.get("streaming", False)
    if not isinstance(streaming, bool):
        raise EndpointRecordError("a2a.card.streaming must be true or false")
    return A2ACard(
        name=_text(record.get("name", ""), "a2a.card.name"),
        description=_text(record.get("description", ""), "a2a.card.description"),
        interface_url=_text(record.get("interface_url", ""), "a2a.card.interface_url"),
        streaming=streaming,
        skills=tuple(_skill_from_record(skill) for skill in skills),
    )


def _skill_from_record(record: object) -> A2ASkill:
    if not isinstance(record, dict):
        raise EndpointRecordError("a2a.card.skills entries must be mappings")
    return A2ASkill(
        id=_text(record.get("id", ""), "a2a.card.skills.id"),
        name=_text(record.get("name", ""), "a2a.card.skills.name"),
        description=_text(record.get("description", ""), "a2a.card.skills.description"),
        tags=_texts(record.get("tags"), "a2a.card.skills.tags"),
        examples=_texts(record.get("examples"), "a2a.card.skills.examples"),
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise EndpointRecordError(f"{field} must be a string")
    return value


def _texts(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EndpointRecordError(f"{field} must be a list of strings")
    return tuple(value)
