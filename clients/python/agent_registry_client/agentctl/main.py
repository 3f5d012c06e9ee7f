"""agentctl's entry point: global options, the command groups, and turning failures into exit statuses."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

import agent_registry_client.agentctl as package
from agent_registry_client.agentctl.command import CommandError, Invocation
from agent_registry_client.channel import DEFAULT_TARGET, TlsOptions
from agent_registry_client.connect import connect
from agent_registry_client.errors import AgentRegistryError

EXIT_FAILED = 1  # the server refused the call, or the command could not run
EXIT_USAGE = 2  # argparse's status for a bad command line


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, gathered from the package's command modules."""
    parser = argparse.ArgumentParser(prog="agentctl", description="Administer an Agent Registry server.")
    parser.add_argument(
        "--target",
        default=os.environ.get("AGENT_REGISTRY_TARGET", DEFAULT_TARGET),
        help=f"server address ($AGENT_REGISTRY_TARGET; default {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--token", default=os.environ.get("AGENT_REGISTRY_TOKEN"), help="bearer token ($AGENT_REGISTRY_TOKEN)"
    )
    parser.add_argument("--tls", action="store_true", help="use TLS with the system's trusted roots")
    parser.add_argument("--tls-ca", help="PEM CA of the server's certificate (implies --tls)")
    parser.add_argument("--tls-cert", help="PEM client certificate, for mTLS")
    parser.add_argument("--tls-key", help="PEM client key, for mTLS")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, in seconds")
    parser.add_argument(
        "-o", "--output", choices=("table", "json", "yaml"), default="table", help="output format"
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_"):  # __main__ runs agentctl when imported
            continue
        commands = importlib.import_module(f"{package.__name__}.{module.name}")
        add_commands = getattr(commands, "add_commands", None)
        if callable(add_commands):
            add_commands(groups)
    return parser


def _tls(args: argparse.Namespace) -> TlsOptions | None:
    if not (args.tls or args.tls_ca or args.tls_cert):
        return None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CommandError("--tls-cert and --tls-key go together")
    try:
        return TlsOptions.from_files(args.tls_ca, args.tls_cert, args.tls_key)
    except OSError as error:
        raise CommandError(f"cannot read the TLS files: {error}") from error


async def run(args: argparse.Namespace) -> None:
    """Connects and runs the chosen command."""
    async with connect(args.target, token=args.token, tls=_tls(args), timeout=args.timeout) as client:
        await args.handler(Invocation(client, args, sys.stdout))


def main(argv: Sequence[str] | None = None) -> None:
    """Runs one command; a refused call exits 1 with its gRPC code and message on stderr."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(run(args))
    except AgentRegistryError as error:
        print(f"error: {error.code.name}: {error.message}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
