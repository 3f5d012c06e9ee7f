"""Connecting to PostgreSQL, and turning a lost or refused connection into StorageUnavailableError."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterator
from typing import Any, TypeAlias

import asyncpg
import asyncpg.pool

from registry_server.domain.errors import StorageUnavailableError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
START_DEADLINE_S = 30.0

Connection: TypeAlias = "asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]"

# Errors that say "the database is not reachable right now", not "the request is wrong".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed, query cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.InterfaceError,  # the connection or pool was closed under us
)


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@contextlib.contextmanager
def unavailable_on_connection_loss(action: str) -> Iterator[None]:
    """Raises StorageUnavailableError (retryable, nothing changed) when the database cannot be reached."""
    try:
        yield
    except CONNECTION_ERRORS as error:
        log.warning("PostgreSQL unavailable while %s: %s", action, _short(error))
        raise StorageUnavailableError(
            f"the database is unavailable ({type(error).__name__}) while {action}; "
            "nothing uncommitted was kept, retry shortly"
        ) from error


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool, retrying with backoff while the database is starting (up to START_DEADLINE_S)."""
    deadline = time.monotonic() + START_DEADLINE_S
    delay = 0.1
    while True:
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=COMMAND_TIMEOUT_S,
            )
            return pool
        except CONNECTION_ERRORS as error:
            if time.monotonic() + delay > deadline:
                raise StorageUnavailableError(
                    f"cannot connect to PostgreSQL at {redacted(url)}: {_short(error)}"
                ) from error
            log.warning("PostgreSQL not reachable yet (%s); retrying in %.1f s", _short(error), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        except asyncpg.PostgresError as error:
            # Refused for good (unknown database or role, wrong password): retrying cannot help.
            raise StorageUnavailableError(
                f"PostgreSQL at {redacted(url)} refused the connection: {_short(error)}"
            ) from error


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:300] + "..."
