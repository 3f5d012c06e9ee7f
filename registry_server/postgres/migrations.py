"""Forward-only, numbered schema migrations, one sequence per component, recorded in `schema_version`.

Each component (the registry, the session store) owns an ordered tuple of migrations; migration N is
applied once, in one transaction with the row that records it. Instances starting together take an
advisory lock, so exactly one applies each migration. A database newer than the code is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry_server.postgres.database import Connection

log = logging.getLogger(__name__)

# Any fixed 64-bit key: serialises migrations of every component across instances.
MIGRATION_LOCK_KEY = 0x5245_4749_5354_5259

CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component text NOT NULL,
    version integer NOT NULL,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True)
class Migration:
    """One schema step: its number (1, 2, ... without gaps), what it does, and its SQL."""

    version: int
    description: str
    sql: str


class SchemaTooNewError(Exception):
    """The database was migrated by a newer version of the server; this one must not write to it."""


async def migrate(connection: Connection, component: str, migrations: Sequence[Migration]) -> int:
    """Applies the component's missing migrations in order; returns the schema version now in place."""
    _check_numbering(component, migrations)
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(CREATE_VERSION_TABLE)
        current = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_version WHERE component = $1", component
        )
        latest = len(migrations)
        if current > latest:
            raise SchemaTooNewError(
                f"the database's {component} schema is version {current}, newer than this server knows "
                f"({latest}); upgrade the server"
            )
        for step in migrations[current:]:
            await connection.execute(step.sql)
            await connection.execute(
                "INSERT INTO schema_version (component, version, description) VALUES ($1, $2, $3)",
                component,
                step.version,
                step.description,
            )
            log.info("applied %s schema migration %d: %s", component, step.version, step.description)
        return latest


def _check_numbering(component: str, migrations: Sequence[Migration]) -> None:
    """Migrations must be numbered 1..N in order: a gap or a swap is a programming error."""
    for expected, step in enumerate(migrations, start=1):
        if step.version != expected:
            raise ValueError(f"{component} migration {step.version} is out of order (expected {expected})")
