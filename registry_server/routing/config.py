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
# "examples" (similarity to an agent's closest examples) took 0.15 of the semantic weight: the best of
# 0, 0.15 and 0.25 on both suites, and on each half of each suite when tuned on the other half.
DEFAULT_FUSION = {"semantic": 0.45, "examples": 0.15, "lexical": 0.3, "capability": 0.1, "context": 0.3}
FUSION_SIGNALS = frozenset(DEFAULT_FUSION)
# How stage 1's confidence weighs the best candidate's relevance, its lead over the second, its semantic
# similarity, the best semantic similarity among the first few, and its typed-capability score; fitted
# (logistic regression, then scaled to a relevance weight of 1) on the CLINC150 development split. A
# follow-up that goes to the session's last agent ("context") is confident on its own.
DEFAULT_CONFIDENCE = {
    "relevance": 1.0,
    "margin": 0.38,
    "semantic": 1.12,
    "best_semantic": 1.25,
    "capability": 0.38,
    "context": 1.1,
}
CONFIDENCE_SIGNALS = frozenset(DEFAULT_CONFIDENCE)


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
    # Weights of the fused relevance: semantic (cosine to the agent's mean vector), examples (mean cosine to
    # its `nearest_examples` closest examples, or the semantic cosine when it has none), lexical (normalised
    # BM25), capability (typed score), and context (added for the session's last agent when the typed context
    # boost applies).
    fusion: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FUSION))
    # How many of an agent's closest examples the examples signal averages (1 to 5 measured: 3 was best).
    nearest_examples: int = 3
    # Weights of stage 1's confidence that some agent answers (see `confidence_weights` in the README).
    confidence_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CONFIDENCE))
    # Below this confidence no agent is selected ("no agent matched"); calibrated on development data.
    abstain_threshold: float = 1.10
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
        key: value
        for key, value in document.items()
        if key not in ("weights", "fusion", "confidence_weights")
    }
    if "fusion" in document:
        changes["fusion"] = _signal_weights(
            "fusion", base.fusion, FUSION_SIGNALS, document["fusion"] or {}, path
        )
    if "confidence_weights" in document:
        changes["confidence_weights"] = _signal_weights(
            "confidence_weights",
            base.confidence_weights,
            CONFIDENCE_SIGNALS,
            document["confidence_weights"] or {},
            path,
        )
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


def _signal_weights(
    key: str, base: dict[str, float], known: frozenset[str], values: dict[str, Any], path: Path
) -> dict[str, float]:
    """The signal weights under `key` of the file over the base's."""
    unknown = set(values) - known
    if unknown:
        raise RoutingConfigError(f"unknown {key} signals {sorted(unknown)} in {path}; known: {sorted(known)}")
    weights = dict(base)
    for name, value in values.items():
        try:
            weights[name] = float(value)
        except (TypeError, ValueError) as error:
            raise RoutingConfigError(f"{key}.{name} in {path}: {error}") from error
    return weights
