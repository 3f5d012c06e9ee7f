"""Builds data directories for the benchmarks: registries of N agents, session stores of N rows."""

from __future__ import annotations

import asyncio
import random
import secrets
import sqlite3
from pathlib import Path

from registry_server.domain.agent import AgentSpec, Capabilities, FactoryRef
from registry_server.registry.document import encode_record, render_file
from registry_server.registry.file_store import REGISTRY_FILE_NAME
from registry_server.sessions.sqlite_store import SESSIONS_FILE_NAME, SqliteSessionStore

OPERATIONS = (
    "create",
    "update",
    "list",
    "approve",
    "cancel",
    "export",
    "review",
    "assign",
    "close",
    "escalate",
)
KEYWORDS = tuple(f"kw{n}" for n in range(200))
FILLER = (
    *("today", "tomorrow", "latest", "open", "recent", "weekly", "monthly", "my", "our", "team", "status"),
    *("summary", "report", "details", "list", "overview", "history", "changes", "pending", "urgent", "new"),
    *("old", "current", "next", "last", "quick", "full"),
)
CHEAP = FactoryRef("bench.cheap_agents", "create_cheap_agent")


def synthetic_examples(n: int, count: int, rng: random.Random) -> tuple[str, ...]:
    """`count` sample requests for agent `n`, like users type them: an action, the agent's subject, filler."""
    return tuple(
        f"{rng.choice(OPERATIONS)} the {rng.choice(FILLER)} topic{n} {rng.choice(FILLER)} for thing{n} "
        f"{rng.choice(FILLER)} {rng.choice(FILLER)} please"
        for _ in range(count)
    )


def synthetic_agents(count: int, seed: int = 7, examples: int = 0) -> list[AgentSpec]:
    """`count` agents, each with its own domain and entity, sharing operations and a pool of keywords."""
    rng = random.Random(seed)
    return [
        AgentSpec(
            name=f"agent_{n:05d}",
            description=f"Synthetic agent {n} for benchmarks.",
            factory=FactoryRef(CHEAP.module, CHEAP.function, {"name": f"agent_{n:05d}"}),
            capabilities=Capabilities(
                domains=(f"topic{n}",),
                entities=(f"thing{n}", f"item{n}"),
                operations=tuple(rng.sample(OPERATIONS, 3)),
                keywords=tuple(rng.sample(KEYWORDS, 4)),
                priority=rng.randrange(0, 20),
                examples=synthetic_examples(n, examples, rng),
            ),
            tags=("bench",),
        )
        for n in range(count)
    ]


def write_registry(data_dir: Path, count: int, examples: int = 0) -> list[AgentSpec]:
    """A registry file of `count` synthetic agents (with `examples` sample requests each)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    specs = synthetic_agents(count, examples=examples)
    (data_dir / REGISTRY_FILE_NAME).write_bytes(render_file({s.name: encode_record(s) for s in specs}))
    return specs


def write_sessions(
    data_dir: Path, sessions: int, history_per_session: dict[str, int] | None = None
) -> list[str]:
    """`sessions` sessions (users spread over 100 names) and, per given session id, that many history rows."""
    path = data_dir / SESSIONS_FILE_NAME
    asyncio.run(_create_schema(path))
    ids = [secrets.token_urlsafe(18) for _ in range(sessions)]
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        base = 1_700_000_000_000_000
        connection.executemany(
            "INSERT INTO sessions (app_name, session_id, user_id, status, metadata, create_time, "
            "update_time) VALUES ('default', ?, ?, 'ACTIVE', '{}', ?, ?)",
            ((sid, f"user{n % 100}", base + n * 1000, base + n * 1000) for n, sid in enumerate(ids)),
        )
        for session_id, count in (history_per_session or {}).items():
            connection.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            cursor = connection.execute(
                "INSERT INTO sessions (app_name, session_id, user_id, status, metadata, create_time, "
                "update_time, history_count) VALUES ('default', ?, 'bench', 'ACTIVE', '{}', ?, ?, ?)",
                (session_id, base, base, count),
            )
            connection.executemany(
                "INSERT INTO history (sid, seq, role, content, agent_name, create_time) "
                "VALUES (?, ?, 'USER', ?, '', ?)",
                ((cursor.lastrowid, seq, _message(seq), base + seq) for seq in range(1, count + 1)),
            )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return ids


def _message(seq: int) -> str:
    return f"message {seq}: show me the status of ticket {12300 + seq % 50}"


async def _create_schema(path: Path) -> None:
    store = await SqliteSessionStore(path).open()
    await store.close()
