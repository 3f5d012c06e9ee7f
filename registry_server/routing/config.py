"""Routing settings: stage-1 weights and thresholds, stage-2 model and deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from registry_server.domain.routing import CapabilityKind

DEFAULT_WEIGHTS = {
    CapabilityKind.DOMAIN: 0.4,
    CapabilityKind.ENTITY: 0.3,
    CapabilityKind.OPERATION: 0.2,
    CapabilityKind.KEYWORD: 0.1,
}
DEFAULT_GEMINI_MODEL = "gemini-3.8-flash"


@dataclass(frozen=True)
class RoutingConfig:
    """Everything that tunes routing; every field can be set in the --routing-config YAML file."""

    weights: dict[CapabilityKind, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    context_boost: float = 0.3
    min_score: float = 0.1
    top_k: int = 10
    multi_agent_margin: float = 0.2
    gemini_model: str = DEFAULT_GEMINI_MODEL
    gemini_api_key: str = ""
    gemini_base_url: str = ""
    stage2_timeout_s: float = 3.0
    agent_timeout_s: float = 30.0
    max_query_chars: int = 4096


class RoutingConfigError(ValueError):
    """The routing configuration file is invalid."""


def load_routing_config(path: Path | None, base: RoutingConfig) -> RoutingConfig:
    """`base` with the values of the YAML file at `path` (if any) applied over it."""
    if path is None:
        return base
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RoutingConfigError(f"cannot read the routing config {path}: {error}") from error
    if not isinstance(document, dict):
        raise RoutingConfigError(f"the routing config {path} must be a mapping")
    return _apply(base, document, path)


def _apply(base: RoutingConfig, document: dict[str, Any], path: Path) -> RoutingConfig:
    known = {f.name for f in fields(RoutingConfig)} - {"gemini_api_key"}
    unknown = set(document) - known
    if unknown:
        raise RoutingConfigError(f"unknown keys {sorted(unknown)} in {path}; known: {sorted(known)}")
    changes: dict[str, Any] = {key: value for key, value in document.items() if key != "weights"}
    if "weights" in document:
        weights = dict(base.weights)
        for name, value in (document["weights"] or {}).items():
            try:
                weights[CapabilityKind(name)] = float(value)
            except ValueError as error:
                raise RoutingConfigError(f"weights.{name} in {path}: {error}") from error
        changes["weights"] = weights
    try:
        return replace(base, **changes)
    except TypeError as error:
        raise RoutingConfigError(f"{path}: {error}") from error
