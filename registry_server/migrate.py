"""`agent-registry migrate`: copies an embedded data dir's stores into PostgreSQL, one function per store.

Each store's step reads everything from the data dir and writes it to the database in one transaction,
refusing (and writing nothing for that store) when the database already holds any of it. The data dir
is locked meanwhile, so no server can change it during the copy; it is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from registry_server.data_dir_lock import DataDirLock
from registry_server.domain.errors import RegistryError
from registry_server.migrate_sessions import SessionMigrationError, migrate_sessions
from registry_server.postgres.database import redacted
from registry_server.postgres.migrations import SchemaTooNewError
from registry_server.registry.file_store import FileStore
from registry_server.registry.journal import segments_in
from registry_server.registry.journal_replay import recover
from registry_server.registry.postgres_store import PostgresRegistryStore

log = logging.getLogger("registry_server.migrate")

MigrationStep = Callable[[Path, str], Awaitable[str]]


async def migrate_registry(data_dir: Path, database_url: str) -> str:
    """Copies every agent of the embedded registry, with its etag; returns what it did.

    The registry is only read (snapshot, then journal replayed over it), never compacted or rewritten.
    A data dir holding no registry is refused: importing nothing would mark the database as seeded.
    """
    snapshots = FileStore(data_dir, defaults_file=None)
    if not (snapshots.path.exists() or snapshots.backup_path.exists() or segments_in(data_dir)):
        raise MigrationError(
            f"{data_dir} holds no registry ({snapshots.path.name}, its backup or a journal); "
            "nothing was copied: check --from-data-dir"
        )
    loaded = await asyncio.to_thread(recover, snapshots, data_dir, 1)
    agents = list(loaded.agents.values())
    target = await PostgresRegistryStore.open(database_url)
    try:
        revision = await target.import_agents(agents)
    finally:
        await target.close()
    rejected = f"; {len(loaded.rejected)} invalid records were left behind" if loaded.rejected else ""
    return f"registry: {len(agents)} agents copied (database revision {revision}){rejected}"


# The stores of a data dir, in the order they are copied.
STEPS: tuple[tuple[str, MigrationStep], ...] = (
    ("registry", migrate_registry),
    ("sessions", migrate_sessions),
)


async def migrate(
    data_dir: Path, database_url: str, steps: Sequence[tuple[str, MigrationStep]] = STEPS
) -> list[str]:
    """Runs each store's step with the data dir locked; returns one line per store."""
    if not await asyncio.to_thread(data_dir.is_dir):
        raise MigrationError(f"{data_dir} is not a directory")
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        return [await step(data_dir, database_url) for _, step in steps]
    finally:
        lock.release()


class MigrationError(Exception):
    """The migration cannot start: a missing data dir, say."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-registry migrate",
        description="Copy a data dir's registry and sessions into PostgreSQL (stop its server first).",
    )
    parser.add_argument("--from-data-dir", type=Path, required=True, help="the embedded data dir to copy")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("AGENT_REGISTRY_DATABASE_URL", ""),
        help="postgresql:// URL of the target database (AGENT_REGISTRY_DATABASE_URL)",
    )
    return parser


def main(argv: list[str]) -> None:
    """Parses the arguments, migrates, and exits non-zero with a message when it cannot."""
    args = _parser().parse_args(argv)
    if not args.database_url.startswith(("postgresql://", "postgres://")):
        raise SystemExit("--database-url (or AGENT_REGISTRY_DATABASE_URL) must be a postgresql:// URL")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        lines = asyncio.run(migrate(args.from_data_dir, args.database_url))
    except (RegistryError, SchemaTooNewError, MigrationError, SessionMigrationError, OSError) as error:
        print(f"migration failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    for line in lines:
        print(line)
    print(f"done: start the servers with --database-url {redacted(args.database_url)}")
