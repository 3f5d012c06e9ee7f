"""The registry document: `{"version": "1.0.0", "agents": {"<name>": {...}}}`, its records and etags."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from registry_server.domain.agent import AgentSpec, Capabilities, FactoryRef
from registry_server.domain.errors import ValidationError
from registry_server.registry.endpoint_record import endpoint_from_record, endpoint_to_record
from registry_server.registry.validation import CAPABILITY_LISTS, normalise_spec

FORMAT_VERSION = "1.0.0"


class DocumentError(ValueError):
    """A registry document that cannot be read: wrong shape, wrong types or invalid agents."""


def spec_to_record(spec: AgentSpec) -> dict[str, Any]:
    """The JSON-ready record of one agent, as stored under its name."""
    capabilities = spec.capabilities
    return {
        "name": spec.name,
        "description": spec.description,
        **_runtime_record(spec),
        "capabilities": {
            **{list_name: list(getattr(capabilities, list_name)) for list_name in CAPABILITY_LISTS},
            "priority": capabilities.priority,
        },
        "tags": list(spec.tags),
        "enabled": spec.enabled,
        "create_time": _format_time(spec.create_time),
        "update_time": _format_time(spec.update_time),
    }


def _runtime_record(spec: AgentSpec) -> dict[str, Any]:
    """`{"factory": {...}}` or `{"a2a": {...}}`: how the agent runs."""
    if spec.a2a is not None:
        return {"a2a": endpoint_to_record(spec.a2a)}
    factory = spec.factory or FactoryRef("", "")
    return {
        "factory": {"module": factory.module, "function": factory.function, "kwargs": dict(factory.kwargs)}
    }


def encode_record(spec: AgentSpec) -> str:
    """The record as one line of canonical JSON: the unit of the file and the input of the etag."""
    return json.dumps(spec_to_record(spec), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def etag_of(encoded_record: str) -> str:
    """A short content hash of an encoded record."""
    return hashlib.sha256(encoded_record.encode()).hexdigest()[:20]


def render_file(encoded_records: Mapping[str, str]) -> bytes:
    """The registry file: valid JSON with one agent per line, in name order, so diffs stay readable."""
    lines = [f"  {json.dumps(name)}: {encoded_records[name]}" for name in sorted(encoded_records)]
    body = ",\n".join(lines)
    agents = "{\n" + body + "\n }" if lines else "{}"
    return f'{{"version": {json.dumps(FORMAT_VERSION)},\n "agents": {agents}\n}}\n'.encode()


def build_document(specs: Iterable[AgentSpec]) -> dict[str, Any]:
    """The registry document as a dict, for export."""
    return {
        "version": FORMAT_VERSION,
        "agents": {spec.name: spec_to_record(spec) for spec in sorted(specs, key=lambda s: s.name)},
    }


@dataclass(frozen=True)
class RecordProblem:
    """A record of a document that cannot be loaded, with the reason."""

    name: str
    reason: str
    record: object


@dataclass(frozen=True)
class ParsedRecords:
    """A document read record by record: the valid agents with their revisions, and the rejected ones."""

    agents: list[tuple[AgentSpec, int]]
    problems: list[RecordProblem]
    revision: int


def parse_records(document: object) -> ParsedRecords:
    """Reads a document record by record; only a document that is not a registry raises DocumentError."""
    agents = _agents_mapping(document)
    revision = document.get("revision", 0) if isinstance(document, dict) else 0
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise DocumentError("'revision' is not a non-negative integer")
    parsed: list[tuple[AgentSpec, int]] = []
    problems: list[RecordProblem] = []
    for name, record in agents.items():
        try:
            parsed.append(parse_record(str(name), record))
        except DocumentError as exc:
            problems.append(RecordProblem(str(name), str(exc), record))
    return ParsedRecords(parsed, problems, revision)


def parse_record(name: str, record: object) -> tuple[AgentSpec, int]:
    """One stored agent and the revision of its last change (0 when the record does not say)."""
    if not isinstance(record, dict):
        raise DocumentError(f"agent {name!r} is not a mapping")
    revision = record.get("revision", 0)
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise DocumentError(f"agent {name!r}: revision must be a non-negative integer")
    try:
        return normalise_spec(_spec_from_record(name, record), prefix=f"agents.{name}"), revision
    except ValidationError as exc:
        raise DocumentError(str(exc)) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise DocumentError(f"agent {name!r} is malformed: {exc}") from exc


def render_snapshot(agents: Iterable[tuple[AgentSpec, int]], revision: int) -> bytes:
    """The registry file at `revision`: the original shape, each record with the revision of its change."""
    lines = []
    for spec, agent_revision in sorted(agents, key=lambda pair: pair[0].name):
        record = json.dumps(
            {**spec_to_record(spec), "revision": agent_revision},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        lines.append(f"  {json.dumps(spec.name)}: {record}")
    body = "{\n" + ",\n".join(lines) + "\n }" if lines else "{}"
    header = f'{{"version": {json.dumps(FORMAT_VERSION)}, "revision": {revision},\n'
    return f'{header} "agents": {body}\n}}\n'.encode()


def _agents_mapping(document: object) -> dict[Any, Any]:
    if not isinstance(document, dict):
        raise DocumentError("the document is not a mapping")
    agents = document.get("agents")
    if agents is None:
        return {}
    if not isinstance(agents, dict):
        raise DocumentError("'agents' is not a mapping of name to agent")
    return agents


def parse_document(document: object) -> list[AgentSpec]:
    """Reads the agents of a decoded document; raises DocumentError when anything is malformed."""
    return [parse_record(str(name), record)[0] for name, record in _agents_mapping(document).items()]


def _spec_from_record(name: str, record: dict[str, Any]) -> AgentSpec:
    if "name" in record and record["name"] != name:
        raise DocumentError(f"agent stored under {name!r} is named {record['name']!r}")
    capabilities = record.get("capabilities") or {}
    a2a = record.get("a2a")
    return AgentSpec(
        name=name,
        description=_text(record.get("description", ""), "description"),
        factory=None if a2a is not None else _factory_from_record(record),
        a2a=None if a2a is None else endpoint_from_record(a2a),
        capabilities=Capabilities(
            **{key: _terms(capabilities.get(key), f"capabilities.{key}") for key in CAPABILITY_LISTS},
            priority=_integer(capabilities.get("priority", 0), "capabilities.priority"),
        ),
        tags=_terms(record.get("tags"), "tags"),
        enabled=_boolean(record.get("enabled", True), "enabled"),
        create_time=_parse_time(record.get("create_time")),
        update_time=_parse_time(record.get("update_time")),
    )


def _factory_from_record(record: dict[str, Any]) -> FactoryRef:
    factory = record.get("factory")
    if factory is None:  # the original design stored the factory as flat fields
        factory = {
            "module": record.get("factory_module", ""),
            "function": record.get("factory_function", ""),
            "kwargs": record.get("factory_kwargs") or {},
        }
    return FactoryRef(
        module=_text(factory.get("module", ""), "factory.module"),
        function=_text(factory.get("function", ""), "factory.function"),
        kwargs=dict(factory.get("kwargs") or {}),
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise DocumentError(f"{field} must be a string")
    return value


def _terms(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DocumentError(f"{field} must be a list of strings")
    return tuple(value)


def _integer(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DocumentError(f"{field} must be an integer")
    return value


def _boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise DocumentError(f"{field} must be true or false")
    return value


def _format_time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads unquoted timestamps as datetimes
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise DocumentError("times must be ISO 8601 strings")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
