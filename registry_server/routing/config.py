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
# How stage 1 fuses its signals into one relevance, tuned on the CLINC150 and MetaTool development splits.
DEFAULT_FUSION = {"semantic": 0.6, "lexical": 0.3, "capability": 0.1, "context": 0.3}
FUSION_SIGNALS = frozenset(DEFAULT_FUSION)


@dataclass(frozen=True)
class RoutingConfig:
    """Everything that tunes routing; every field can be set in the --routing-config YAML file."""

    weights: dict[CapabilityKind, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    context_boost: float = 0.3
    # Each further distinct term of one kind adds this fraction of the kind's weight.
    extra_term_weight: float = 0.5
    min_score: float = 0.1
    top_k: int = 10
    multi_agent_margin: float = 0.2
    # Weights of the fused relevance: semantic (cosine), lexical (normalised BM25), capability (typed score),
    # and context (added for the session's last agent when the typed context boost applies).
    fusion: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FUSION))
    # Below this fused relevance no agent is selected ("no agent matched"); calibrated on development data.
    abstain_threshold: float = 0.29
    # ... unless the best typed-capability score reaches this: an agent whose terms the query names answers.
    confident_capability_score: float = 0.4
    # A clause of a multi-part request selects its own agent at or above this relevance, when it leads the
    # other clauses' agents by `clause_margin` in its own clause.
    clause_threshold: float = 0.35
    clause_margin: float = 0.2
    # A request of at least `coverage_min_words` content words without clauses selects a second agent among
    # the next `coverage_rivals - 1` (each within `coverage_ratio` of the best relevance) when a window of
    # `coverage_window` content words (every `coverage_stride`) ranks it at `coverage_threshold` or more and
    # `coverage_margin` above the best agent: that part of the request is about something else.
    coverage_min_words: int = 8
    coverage_rivals: int = 3
    coverage_ratio: float = 0.6
    coverage_window: int = 4
    coverage_stride: int = 2
    coverage_threshold: float = 0.55
    coverage_margin: float = 0.3
    # Candidates for stage 2 are those within this fraction of the best relevance.
    candidate_ratio: float = 0.6
    # How many agents each signal retrieves before fusion.
    retrieval_k: int = 20
    # A term shared by more agents than this is looked up only for the agents other signals retrieved.
    common_term_agents: int = 64
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
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
    changes: dict[str, Any] = {
        key: value for key, value in document.items() if key not in ("weights", "fusion")
    }
    if "fusion" in document:
        changes["fusion"] = _fusion(base, document["fusion"] or {}, path)
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


def _fusion(base: RoutingConfig, values: dict[str, Any], path: Path) -> dict[str, float]:
    """The fusion weights of the file over the base's."""
    unknown = set(values) - FUSION_SIGNALS
    if unknown:
        raise RoutingConfigError(
            f"unknown fusion signals {sorted(unknown)} in {path}; known: {sorted(FUSION_SIGNALS)}"
        )
    fusion = dict(base.fusion)
    for name, value in values.items():
        try:
            fusion[name] = float(value)
        except (TypeError, ValueError) as error:
            raise RoutingConfigError(f"fusion.{name} in {path}: {error}") from error
    return fusion
