"""Turns an A2A agent card into a registry entry: its name, and capabilities derived from its skills."""

from __future__ import annotations

import re

from registry_server.domain.agent import A2ACard, Capabilities
from registry_server.domain.errors import ValidationError
from registry_server.registry.validation import (
    MAX_EXAMPLE_CHARS,
    MAX_EXAMPLES,
    MAX_TERM_CHARS,
    MAX_TERMS,
    is_agent_name,
)

_NOT_NAME_CHARACTERS = re.compile(r"[^a-z0-9]+")


def name_from_card(card: A2ACard) -> str:
    """The card's name as an agent name: lower case, words joined by underscores, e.g. `tickets_agent`."""
    name = _NOT_NAME_CHARACTERS.sub("_", card.name.lower()).strip("_")[:63].rstrip("_")
    if name and not name[0].isalpha():
        name = f"a2a_{name}"[:63].rstrip("_")
    if not is_agent_name(name):
        raise ValidationError.single(
            "name", f"the card's name {card.name[:100]!r} is not usable as an agent name; give a name"
        )
    return name


def capabilities_from_card(card: A2ACard) -> Capabilities:
    """Skill names and tags become keywords; skill examples become examples. Over-long ones are left out."""
    keywords: dict[str, None] = {}
    examples: dict[str, None] = {}
    for skill in card.skills:
        for term in (skill.name, *skill.tags):
            cleaned = " ".join(term.split())
            if cleaned and len(cleaned) <= MAX_TERM_CHARS and len(keywords) < MAX_TERMS:
                keywords.setdefault(cleaned, None)
        for example in skill.examples:
            cleaned = " ".join(example.split())
            if cleaned and len(examples) < MAX_EXAMPLES:
                examples.setdefault(cleaned[:MAX_EXAMPLE_CHARS], None)
    return Capabilities(keywords=tuple(keywords), examples=tuple(examples))
