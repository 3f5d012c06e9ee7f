"""`agentctl sessions ...`: list, get, export, purge."""

from __future__ import annotations

import argparse
import json

from agent_registry_client.agentctl.command import Invocation, handler
from agent_registry_client.session_models import Session, SessionStatus

LIST_COLUMNS = ("session_id", "user_id", "status", "last_agent_called", "history_count", "update_time")


def _summary(session: Session) -> dict[str, object]:
    return {
        "session_id": session.session_id,
        "user_id": session.user_id,
        "status": session.status.name,
        "last_agent_called": session.last_agent_called,
        "history_count": session.history_count,
        "update_time": session.update_time.isoformat() if session.update_time else "",
    }


async def list_sessions(run: Invocation) -> None:
    """Prints sessions, newest first."""
    args = run.args
    status = SessionStatus[args.status.upper()] if args.status else SessionStatus.UNSPECIFIED
    sessions: list[Session] = []
    async for session in run.client.sessions.iter_sessions(user_id=args.user, status=status):
        sessions.append(session)
        if len(sessions) >= args.limit:
            break
    run.show([_summary(s) for s in sessions] if args.output == "table" else sessions, LIST_COLUMNS)


async def get_session(run: Invocation) -> None:
    """Prints one session with its history."""
    session = await run.client.sessions.get_session(run.args.session_id)
    if run.args.output != "table":
        run.show(session)
        return
    run.show(_summary(session))
    for entry in session.history:
        agent = f" ({entry.agent_name})" if entry.agent_name else ""
        run.out.write(
            f"  {entry.seq:>4} {entry.role.name.lower()}{agent}: {' '.join(entry.content.split())}\n"
        )


async def export_session(run: Invocation) -> None:
    """Prints the whole session as JSON (YAML with -o yaml)."""
    document = await run.client.sessions.export_session(run.args.session_id)
    if run.args.output == "yaml":
        run.show(document)
    else:
        run.out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


async def purge_sessions(run: Invocation) -> None:
    """Purges the closed sessions past the retention period."""
    purged = await run.client.sessions.purge_expired_sessions()
    run.show({"purged": purged})


def add_commands(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the `sessions` command group."""
    sessions = groups.add_parser("sessions", help="inspect and purge users' sessions")
    commands = sessions.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    listing = commands.add_parser("list", help="list sessions, newest first")
    listing.add_argument("--user", default="", help="only this user's sessions")
    listing.add_argument("--status", choices=("active", "completed", "abandoned"))
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    handler(listing, list_sessions)
    for name, run, text in (
        ("get", get_session, "show a session and its history"),
        ("export", export_session, "print a whole session as JSON"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("session_id")
        handler(command, run)
    handler(
        commands.add_parser("purge", help="purge closed sessions past the retention period"), purge_sessions
    )
