"""`agentctl agents ...`: list, get, register, import, export, enable, disable, delete, reload."""

from __future__ import annotations

import argparse
from typing import Any

from agent_registry_client.agentctl.agent_files import agents_from_document, read_document, single_agent
from agent_registry_client.agentctl.command import Invocation, handler
from agent_registry_client.models import Agent, AgentState

LIST_COLUMNS = ("name", "state", "enabled", "tags", "domains", "description")


def _row(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "state": agent.state.name,
        "enabled": agent.enabled,
        "tags": list(agent.tags),
        "domains": list(agent.capabilities.domains),
        "description": agent.description,
    }


async def list_agents(run: Invocation) -> None:
    """Prints every agent matching the filters."""
    args = run.args
    enabled = True if args.enabled else False if args.disabled else None
    state = AgentState[args.state.upper()] if args.state else AgentState.UNSPECIFIED
    agents = [
        agent
        async for agent in run.client.registry.iter_agents(
            tag=args.tag, domain=args.domain, enabled=enabled, state=state
        )
    ]
    run.show(agents if args.output != "table" else [_row(agent) for agent in agents], LIST_COLUMNS)


async def get_agent(run: Invocation) -> None:
    """Prints one agent."""
    run.show(await run.client.registry.get_agent(run.args.name))


async def register_agent(run: Invocation) -> None:
    """Registers the agent of a file."""
    agent = single_agent(read_document(run.args.file), run.args.file)
    run.show(await run.client.registry.register_agent(agent))


async def import_agents(run: Invocation) -> None:
    """Registers every agent of a registry document, all or none."""
    agents = agents_from_document(read_document(run.args.file), run.args.file)
    registered = await run.client.registry.batch_register_agents(agents)
    run.show(
        [_row(agent) for agent in registered] if run.args.output == "table" else registered, LIST_COLUMNS
    )


async def export_registry(run: Invocation) -> None:
    """Prints the whole registry document (YAML unless -o json)."""
    content = await run.client.registry.export_registry("json" if run.args.output == "json" else "yaml")
    run.out.write(content if content.endswith("\n") else content + "\n")


async def enable_agent(run: Invocation) -> None:
    """Lets routing choose the agent again."""
    run.show(await run.client.registry.set_agent_enabled(run.args.name, True, etag=run.args.etag))


async def disable_agent(run: Invocation) -> None:
    """Stops routing to the agent."""
    run.show(await run.client.registry.set_agent_enabled(run.args.name, False, etag=run.args.etag))


async def delete_agent(run: Invocation) -> None:
    """Deletes the agent."""
    await run.client.registry.delete_agent(run.args.name, etag=run.args.etag)
    run.out.write(f"deleted {run.args.name}\n")


async def reload_agent(run: Invocation) -> None:
    """Re-imports the agent's code and rebuilds it."""
    run.show(await run.client.registry.reload_agent(run.args.name))


def add_commands(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `agents` command group."""
    agents = groups.add_parser("agents", help="list, inspect and change agents")
    commands = agents.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    listing = commands.add_parser("list", help="list agents")
    listing.add_argument("--tag", default="")
    listing.add_argument("--domain", default="")
    listing.add_argument("--state", choices=("available", "unavailable"))
    enabled = listing.add_mutually_exclusive_group()
    enabled.add_argument("--enabled", action="store_true", help="only enabled agents")
    enabled.add_argument("--disabled", action="store_true", help="only disabled agents")
    handler(listing, list_agents)

    for name, run, text in (
        ("get", get_agent, "show one agent"),
        ("reload", reload_agent, "re-import an agent's code and rebuild it"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("name")
        handler(command, run)
    for name, run, text in (
        ("enable", enable_agent, "let routing choose an agent"),
        ("disable", disable_agent, "stop routing to an agent"),
        ("delete", delete_agent, "delete an agent"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("name")
        command.add_argument("--etag", default="", help="act only if the agent is unchanged since read")
        handler(command, run)

    register = commands.add_parser("register", help="register the agent described in a YAML or JSON file")
    register.add_argument("-f", "--file", required=True, help="agent file (- for stdin)")
    handler(register, register_agent)
    imports = commands.add_parser("import", help="register every agent of a registry file, all or none")
    imports.add_argument("-f", "--file", required=True, help="registry file, e.g. data/default_registry.yaml")
    handler(imports, import_agents)
    handler(
        commands.add_parser("export", help="print the whole registry (YAML, or JSON with -o json)"),
        export_registry,
    )
