"""Group commit: concurrent writes share transactions; a locked or failing write never poisons others."""

from __future__ import annotations

import asyncio
from pathlib import Path

from registry_server.domain.session import Role
from registry_server.sessions.sqlite_store import SqliteSessionStore


async def test_concurrent_writes_share_transactions(tmp_path: Path) -> None:
    store = await SqliteSessionStore(tmp_path / "sessions.db").open()
    try:
        session = await store.create_session("alice", {})
        before = store.commit_counts
        await asyncio.gather(
            *(store.append_history(session.session_id, Role.USER, f"m{i}", "") for i in range(64))
        )
        transactions, writes = (now - then for now, then in zip(store.commit_counts, before, strict=True))
        assert writes == 64
        assert transactions <= 8, f"64 concurrent appends took {transactions} transactions"
        assert (await store.get_session(session.session_id)).history_count == 64
    finally:
        await store.close()


async def test_sequential_writes_commit_one_by_one(tmp_path: Path) -> None:
    store = await SqliteSessionStore(tmp_path / "sessions.db").open()
    try:
        session = await store.create_session("alice", {})
        before = store.commit_counts[0]
        for index in range(5):
            await store.append_history(session.session_id, Role.USER, f"m{index}", "")
        assert store.commit_counts[0] - before == 5, "an acknowledged write is committed, not held back"
    finally:
        await store.close()
