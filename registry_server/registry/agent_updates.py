"""UpdateAgent: which fields a field mask may name, and how they replace an agent's definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from registry_server.domain.agent import AgentSpec, Capabilities
from registry_server.domain.errors import ValidationError
from registry_server.registry.validation import CAPABILITY_LISTS

# Fields UpdateAgent may replace; `capabilities.<list>` and `capabilities.priority` replace one part.
UPDATABLE_FIELDS = frozenset(
    {"description", "factory", "a2a", "tags", "enabled", "capabilities.priority"}
    | {f"capabilities.{list_name}" for list_name in CAPABILITY_LISTS}
)


def check_update_paths(changes: Mapping[str, Any]) -> None:
    """Raises ValidationError unless `changes` names at least one field, all of them updatable."""
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if not changes or unknown:
        raise ValidationError.single(
            "update_mask",
            f"unknown paths {unknown}" if unknown else "is required: name the fields to replace",
        )


def apply_changes(spec: AgentSpec, changes: Mapping[str, Any]) -> AgentSpec:
    """`spec` with the fields of `changes` replaced."""
    capability_changes = {
        path.split(".", 1)[1]: value for path, value in changes.items() if path.startswith("capabilities.")
    }
    top_level = {path: value for path, value in changes.items() if "." not in path}
    capabilities: Capabilities = replace(spec.capabilities, **capability_changes)
    return replace(spec, capabilities=capabilities, **top_level)
