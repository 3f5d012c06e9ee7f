"""Checks an agent spec against the registry's limits and reports every bad field at once."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from registry_server.domain.agent import AgentSpec, Capabilities, FactoryRef
from registry_server.domain.errors import FieldViolation, ValidationError
from registry_server.domain.identifiers import has_control_character, matches_whole
from registry_server.registry.endpoint_validation import endpoint_violations

# Always matched whole (matches_whole): with re.match, `$` would also accept a trailing newline.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
MODULE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_DESCRIPTION_CHARS = 2000
MAX_TERMS = 64
MAX_TERM_CHARS = 64
MAX_TAGS = 32
MAX_MODULE_CHARS = 256
MAX_KWARGS_BYTES = 16 * 1024
MAX_PRIORITY = 1000
TERM_LISTS = ("domains", "operations", "entities", "keywords")
# Every list of AgentCapabilities; examples are sample requests, so they are longer and fewer than terms.
CAPABILITY_LISTS = (*TERM_LISTS, "examples")
MAX_EXAMPLES = 50
MAX_EXAMPLE_CHARS = 512
CONTROL_CHARACTER_PROBLEM = "must not contain control characters (line breaks, tabs, escapes, NUL, DEL, C1)"
NON_FINITE_PROBLEM = "numbers must be finite: NaN and Infinity have no JSON form"


def is_agent_name(name: str) -> bool:
    """Whether `name` is a valid agent name, all of it."""
    return matches_whole(NAME_PATTERN, name)


def validate_name(name: str, field: str = "name") -> None:
    """Raises ValidationError unless `name` is a valid agent name."""
    if not is_agent_name(name):
        raise ValidationError.single(field, _name_problem(name))


def _name_problem(name: str) -> str:
    return (
        f"{name!r} is not a valid agent name: use 2-63 characters of lower-case letters, digits and "
        "underscores, starting with a letter (pattern ^[a-z][a-z0-9_]{1,62}$)"
    )


def normalise_spec(spec: AgentSpec, prefix: str = "agent") -> AgentSpec:
    """Returns the spec with terms and tags stripped and de-duplicated; raises ValidationError if invalid."""
    violations: list[FieldViolation] = []
    if not is_agent_name(spec.name):
        violations.append(FieldViolation(f"{prefix}.name", _name_problem(spec.name)))
    if len(spec.description) > MAX_DESCRIPTION_CHARS:
        violations.append(
            FieldViolation(
                f"{prefix}.description",
                f"is {len(spec.description)} characters; at most {MAX_DESCRIPTION_CHARS} are allowed",
            )
        )
    violations += _runtime_violations(spec, prefix)
    capabilities, capability_violations = _normalise_capabilities(spec.capabilities, f"{prefix}.capabilities")
    violations += capability_violations
    tags, tag_violations = _normalise_tags(spec.tags, f"{prefix}.tags")
    violations += tag_violations
    if violations:
        raise ValidationError(violations)
    return replace(spec, capabilities=capabilities, tags=tags)


def _runtime_violations(spec: AgentSpec, prefix: str) -> list[FieldViolation]:
    """Exactly one of factory and a2a, and that one valid."""
    if spec.factory is not None and spec.a2a is not None:
        return [FieldViolation(f"{prefix}.a2a", "give either factory or a2a, not both")]
    if spec.a2a is not None:
        return endpoint_violations(spec.a2a, f"{prefix}.a2a")
    if spec.factory is None:
        return [
            FieldViolation(
                f"{prefix}.factory",
                "is required: give the module and function that build the agent, or an a2a endpoint",
            )
        ]
    return _factory_violations(spec.factory, prefix)


def _factory_violations(factory: FactoryRef, prefix: str) -> list[FieldViolation]:
    violations = []
    if not factory.module:
        violations.append(FieldViolation(f"{prefix}.factory.module", "is required, e.g. 'my_package.agents'"))
    elif len(factory.module) > MAX_MODULE_CHARS or not matches_whole(MODULE_PATTERN, factory.module):
        violations.append(
            FieldViolation(
                f"{prefix}.factory.module", f"{factory.module!r} is not a dotted Python module path"
            )
        )
    if not factory.function:
        violations.append(FieldViolation(f"{prefix}.factory.function", "is required, e.g. 'create_agent'"))
    elif not matches_whole(IDENTIFIER_PATTERN, factory.function):
        violations.append(
            FieldViolation(f"{prefix}.factory.function", f"{factory.function!r} is not a Python identifier")
        )
    bad_keys = [key for key in factory.kwargs if not matches_whole(IDENTIFIER_PATTERN, key)]
    if bad_keys:
        violations.append(
            FieldViolation(f"{prefix}.factory.kwargs", f"keys {bad_keys!r} are not Python identifiers")
        )
    if not _all_finite(factory.kwargs):
        violations.append(FieldViolation(f"{prefix}.factory.kwargs", NON_FINITE_PROBLEM))
    size = len(json.dumps(factory.kwargs, default=str))
    if size > MAX_KWARGS_BYTES:
        violations.append(
            FieldViolation(
                f"{prefix}.factory.kwargs", f"is {size} bytes as JSON; at most {MAX_KWARGS_BYTES} are allowed"
            )
        )
    return violations


def _all_finite(value: Any) -> bool:
    """Whether every number in a JSON-like value is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_all_finite(item) for item in value)
    return True


def _normalise_terms(
    terms: tuple[str, ...], field: str, max_items: int = MAX_TERMS, max_chars: int = MAX_TERM_CHARS
) -> tuple[tuple[str, ...], list[FieldViolation]]:
    violations = []
    if len(terms) > max_items:
        violations.append(FieldViolation(field, f"has {len(terms)} entries; at most {max_items} are allowed"))
    cleaned: dict[str, None] = {}
    for index, term in enumerate(terms):
        stripped = " ".join(term.split())
        if has_control_character(term):
            violations.append(FieldViolation(f"{field}[{index}]", CONTROL_CHARACTER_PROBLEM))
        elif not stripped or len(stripped) > max_chars:
            violations.append(
                FieldViolation(f"{field}[{index}]", f"must be 1-{max_chars} characters, got {len(stripped)}")
            )
        cleaned.setdefault(stripped, None)
    return tuple(cleaned), violations


def _normalise_capabilities(
    capabilities: Capabilities, prefix: str
) -> tuple[Capabilities, list[FieldViolation]]:
    violations: list[FieldViolation] = []
    lists: dict[str, tuple[str, ...]] = {}
    for list_name in TERM_LISTS:
        lists[list_name], found = _normalise_terms(getattr(capabilities, list_name), f"{prefix}.{list_name}")
        violations += found
    lists["examples"], found = _normalise_terms(
        capabilities.examples, f"{prefix}.examples", MAX_EXAMPLES, MAX_EXAMPLE_CHARS
    )
    violations += found
    if not 0 <= capabilities.priority <= MAX_PRIORITY:
        violations.append(
            FieldViolation(
                f"{prefix}.priority", f"is {capabilities.priority}; it must be 0 to {MAX_PRIORITY}"
            )
        )
    return Capabilities(priority=capabilities.priority, **lists), violations


def _normalise_tags(tags: tuple[str, ...], field: str) -> tuple[tuple[str, ...], list[FieldViolation]]:
    violations = []
    if len(tags) > MAX_TAGS:
        violations.append(FieldViolation(field, f"has {len(tags)} tags; at most {MAX_TAGS} are allowed"))
    for index, tag in enumerate(tags):
        if not matches_whole(TAG_PATTERN, tag):
            violations.append(
                FieldViolation(f"{field}[{index}]", f"{tag!r} must be 1-64 characters of [A-Za-z0-9_.:-]")
            )
    return tuple(dict.fromkeys(tags)), violations
