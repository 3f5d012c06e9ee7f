"""A tiny Jarvis: `python -m agent_registry_client.jarvis "show my tickets and courses" [--session ID]`.

Prints the routing decision, each agent's answer as it streams, and the session to continue with.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from agent_registry_client.channel import DEFAULT_TARGET, TlsOptions
from agent_registry_client.errors import AgentRegistryError
from agent_registry_client.router import RouterClient
from agent_registry_client.routing_models import (
    AgentChunk,
    AgentResult,
    Completed,
    RoutingDecision,
    TurnEvent,
)


async def ask(
    target: str, query: str, session_id: str, user_id: str, *, token: str, tls: TlsOptions | None
) -> int:
    """Runs one turn and prints it; returns the process exit code."""
    async with RouterClient(target, token=token, tls=tls) as router:
        printer = TurnPrinter()
        try:
            async for event in router.route_and_invoke(query, session_id=session_id, user_id=user_id):
                printer.show(event)
        except AgentRegistryError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


class TurnPrinter:
    """Prints a turn's events: chunks at once, under a header whenever the speaking agent changes."""

    def __init__(self) -> None:
        self._speaking = ""
        self._streamed: set[str] = set()
        self._answered = False

    def show(self, event: TurnEvent) -> None:
        """Prints one event."""
        if isinstance(event, RoutingDecision):
            chosen = ", ".join(event.selected_agents) or "no agent"
            print(f"-> {chosen} (stage 2 {event.stage2.lower()}: {event.stage2_reason})", flush=True)
        elif isinstance(event, AgentChunk):
            if event.agent_name != self._speaking:
                print(f"\n[{event.agent_name}]", flush=True)
                self._speaking = event.agent_name
            print(event.text, end="", flush=True)
            self._streamed.add(event.agent_name)
        elif isinstance(event, AgentResult):
            self._show_result(event)
        elif isinstance(event, Completed):
            if not self._answered:
                print(event.combined_response)
            print(f"\nsession: {event.session_id}  (continue with --session {event.session_id})")

    def _show_result(self, result: AgentResult) -> None:
        status = f"{result.duration_ms} ms" if result.success else f"failed: {result.error}"
        if result.agent_name in self._streamed:
            print(f"\n[{result.agent_name} done, {status}]", flush=True)
        else:
            print(f"\n[{result.agent_name}, {status}]\n{result.response}", flush=True)
        self._speaking = ""
        self._answered = True


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and asks the Agent Registry."""
    parser = argparse.ArgumentParser(prog="python -m agent_registry_client.jarvis", description=__doc__)
    parser.add_argument("query", help="what to ask, e.g. 'show my tickets and courses'")
    parser.add_argument("--session", default="", help="continue this session (its last agent gets the boost)")
    parser.add_argument(
        "--user",
        default="",
        help="the user (default: demo for a new session; with --session, "
        "checked against the session's owner when given)",
    )
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help=f"server address (default: {DEFAULT_TARGET})"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("AGENT_REGISTRY_TOKEN", ""),
        help="bearer token ($AGENT_REGISTRY_TOKEN)",
    )
    parser.add_argument("--tls-ca", help="PEM CA of the server's certificate: use TLS")
    parser.add_argument("--tls-cert", help="PEM client certificate, for mTLS")
    parser.add_argument("--tls-key", help="PEM client key, for mTLS")
    args = parser.parse_args(argv)
    user = args.user or ("" if args.session else "demo")
    tls = (
        TlsOptions.from_files(args.tls_ca, args.tls_cert, args.tls_key)
        if args.tls_ca or args.tls_cert
        else None
    )
    sys.exit(asyncio.run(ask(args.target, args.query, args.session, user, token=args.token, tls=tls)))


if __name__ == "__main__":
    main()
