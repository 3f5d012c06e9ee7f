"""What every command gets: the connected client, where to print, and the output format."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from agent_registry_client.agentctl.output import render
from agent_registry_client.connect import AgentRegistry


class CommandError(Exception):
    """A command could not run as asked (bad file, bad argument); printed on stderr, exit status 1."""


@dataclass
class Invocation:
    """One run of a command."""

    client: AgentRegistry
    args: argparse.Namespace
    out: TextIO

    def show(self, value: Any, columns: tuple[str, ...] = ()) -> None:
        """Prints `value` in the chosen output format (a table of `columns` by default)."""
        self.out.write(render(value, self.args.output, columns))


Handler = Callable[[Invocation], Awaitable[None]]


def handler(parser: argparse.ArgumentParser, run: Handler) -> None:
    """Makes `run` the handler of `parser`'s command."""
    parser.set_defaults(handler=run)
