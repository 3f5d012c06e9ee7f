"""Reading agents from YAML or JSON files: one agent, or a registry document `{version, agents: {...}}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_registry_client.agentctl.command import CommandError
from agent_registry_client.models import CAPABILITY_LISTS, A2AEndpoint, Agent, Capabilities, Factory


def read_document(path: str) -> Any:
    """The parsed content of a YAML or JSON file (`-` reads stdin)."""
    try:
        text = Path("/dev/stdin" if path == "-" else path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}") from error
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise CommandError(f"{path} is not valid JSON: {error}") from error
    try:
        import yaml
    except ImportError:
        raise CommandError("YAML files need PyYAML: pip install 'agent-registry-client[cli]'") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CommandError(f"{path} is not valid YAML: {error}") from error


def agent_from_record(name: str, record: Any) -> Agent:
    """The Agent described by one record of a registry document (or an agent file)."""
    if not isinstance(record, dict):
        raise CommandError(f"agent {name!r} must be a mapping of its fields")
    factory = record.get("factory") or {}
    if not isinstance(factory, dict):
        raise CommandError(f"agent {name!r}: factory must be a mapping of module, function and kwargs")
    capabilities = record.get("capabilities") or {}
    if not isinstance(capabilities, dict):
        raise CommandError(f"agent {name!r}: capabilities must be a mapping")
    a2a = record.get("a2a")
    if a2a is not None and (not isinstance(a2a, dict) or not isinstance(a2a.get("headers") or {}, dict)):
        raise CommandError(f"agent {name!r}: a2a must be a mapping of url and headers")
    return Agent(
        name=name,
        description=str(record.get("description", "")),
        factory=None
        if a2a is not None
        else Factory(
            module=str(factory.get("module", record.get("factory_module", ""))),
            function=str(factory.get("function", record.get("factory_function", ""))),
            kwargs=dict(factory.get("kwargs") or {}),
        ),
        a2a=None
        if a2a is None
        else A2AEndpoint(
            str(a2a.get("url", "")), {str(k): str(v) for k, v in (a2a.get("headers") or {}).items()}
        ),
        capabilities=Capabilities(
            **{key: tuple(capabilities.get(key) or ()) for key in CAPABILITY_LISTS},
            priority=int(capabilities.get("priority", 0)),
        ),
        tags=tuple(record.get("tags") or ()),
        enabled=bool(record.get("enabled", True)),
    )


def agents_from_document(document: Any, path: str) -> list[Agent]:
    """Every agent of a registry document; raises CommandError naming what is wrong."""
    agents = document.get("agents") if isinstance(document, dict) else None
    if not isinstance(agents, dict) or not agents:
        raise CommandError(f"{path} must hold a mapping of agents by name under 'agents'")
    return [agent_from_record(str(name), record) for name, record in agents.items()]


def single_agent(document: Any, path: str) -> Agent:
    """The one agent of an agent file (with its `name`), or of a registry document holding one agent."""
    if isinstance(document, dict) and "agents" in document:
        agents = agents_from_document(document, path)
        if len(agents) != 1:
            raise CommandError(f"{path} holds {len(agents)} agents; use `agents import` for several")
        return agents[0]
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise CommandError(f"{path} must be a mapping with the agent's name and fields")
    return agent_from_record(document["name"], document)
