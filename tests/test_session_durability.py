"""Sessions survive restarts and kill -9, a locked database is retried then refused, retention purges."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from agent_registry_client import Invocation, Role, SessionClient, SessionStatus, Unavailable
from registry_server.domain.session import Role as DomainRole
from registry_server.domain.session import SessionFilter
from registry_server.domain.session import SessionStatus as DomainStatus
from registry_server.sessions.retention import RetentionTask
from registry_server.sessions.schema import SCHEMA_VERSION, SchemaTooNewError
from registry_server.sessions.sqlite_store import SqliteSessionStore
from tests.conftest import StartServer
from tests.server_process import start_server_process
from tests.session_backends import FakeClock


async def test_restart_keeps_sessions_entries_and_invocations(start: StartServer) -> None:
    first = await start()
    async with SessionClient(f"127.0.0.1:{first.port}") as sessions:
        session = await sessions.create_session("alice", {"channel": "cli"})
        await sessions.append_history(session.session_id, Role.USER, "show my tickets")
        await sessions.record_invocation(
            session.session_id, Invocation("tickets_agent", "show my tickets", "3", True, 5)
        )
        closed = await sessions.create_session("bob")
        await sessions.update_session_status(closed.session_id, SessionStatus.COMPLETED)
        before = [await sessions.get_session(s.session_id) for s in (session, closed)]
    await first.stop(0)

    second = await start()
    async with SessionClient(f"127.0.0.1:{second.port}") as sessions:
        after = [await sessions.get_session(s.session_id) for s in (session, closed)]
        assert after == before
        entry = await sessions.append_history(session.session_id, Role.ASSISTANT, "3 tickets")
        assert entry.seq == 2


async def test_kill_9_during_64_concurrent_appenders_loses_no_acknowledged_entry(data_dir: Path) -> None:
    process = await start_server_process(data_dir)
    acknowledged: list[tuple[str, int, str]] = []
    enough = asyncio.Event()
    async with SessionClient(process.target) as setup:
        session_ids = [(await setup.create_session(f"user{i}")).session_id for i in range(8)]

    async def append_forever(worker: int) -> None:
        async with SessionClient(process.target, timeout=5) as sessions:
            for index in range(100_000):
                session_id = session_ids[worker % len(session_ids)]
                content = f"worker {worker} entry {index} 🎫"
                entry = await sessions.append_history(session_id, Role.USER, content)
                acknowledged.append((session_id, entry.seq, content))
                if len(acknowledged) >= 1500:
                    enough.set()

    workers = [asyncio.create_task(append_forever(w)) for w in range(64)]
    await enough.wait()
    await process.kill()
    await asyncio.gather(*workers, return_exceptions=True)

    restarted = await start_server_process(data_dir)
    try:
        async with SessionClient(restarted.target) as sessions:
            for session_id in session_ids:
                stored = await sessions.get_session(session_id)
                seqs = [entry.seq for entry in stored.history]
                assert seqs == list(range(1, stored.history_count + 1)), "seq must stay gap-free"
                by_seq = {entry.seq: entry.content for entry in stored.history}
                for acked_session, seq, content in acknowledged:
                    if acked_session == session_id:
                        assert by_seq.get(seq) == content, f"acknowledged entry {seq} of {session_id} lost"
    finally:
        assert await restarted.terminate() == 0


async def test_locked_database_is_retried_then_unavailable_and_recovers(
    start: StartServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start(sqlite_busy_timeout_ms=10)
    target = f"127.0.0.1:{server.port}"
    async with SessionClient(target) as sessions:
        session = await sessions.create_session("alice")
        await sessions.append_history(session.session_id, Role.USER, "before the lock")

    locker = sqlite3.connect(data_dir / "sessions.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    caplog.set_level(logging.WARNING)
    try:
        # A plain channel, so the client's own retry policy does not multiply the server's retries.
        async with grpc.aio.insecure_channel(target) as channel, SessionClient(channel=channel) as sessions:
            with pytest.raises(Unavailable, match="Database temporarily unavailable"):
                await sessions.append_history(session.session_id, Role.USER, "during the lock")
            reading = await sessions.get_session(session.session_id)
            assert reading.history_count == 1, "reads go on while a writer holds the lock (WAL)"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    retries = [r.getMessage() for r in caplog.records if "database locked" in r.getMessage()]
    assert [m.split("retrying in ")[1] for m in retries] == ["100 ms", "200 ms", "400 ms"]

    async with SessionClient(target) as sessions:
        entry = await sessions.append_history(session.session_id, Role.USER, "after the lock")
        assert entry.seq == 2, "the refused write left no half-written entry"
        stored = await sessions.get_session(session.session_id)
        assert [e.content for e in stored.history] == ["before the lock", "after the lock"]


async def test_ten_thousand_sessions_list_page_by_page(start: StartServer) -> None:
    server = await start()
    store = server.sessions
    created = []
    for chunk in range(20):
        created += await asyncio.gather(
            *(
                store.create_session("alice" if i % 4 else "bob", {})
                for i in range(chunk * 500, chunk * 500 + 500)
            )
        )
    newest_first = sorted(created, key=lambda s: (s.create_time, s.session_id), reverse=True)

    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        listed = [s.session_id async for s in sessions.iter_sessions(page_size=1000)]
        assert listed == [s.session_id for s in newest_first]

        bobs = [s.session_id async for s in sessions.iter_sessions(user_id="bob", page_size=333)]
        assert bobs == [s.session_id for s in newest_first if s.user_id == "bob"]
        assert len(bobs) == 2500

        start_time, end_time = newest_first[7000].create_time, newest_first[2000].create_time
        window = [
            s.session_id
            async for s in sessions.iter_sessions(
                user_id="alice", created_after=start_time, created_before=end_time, page_size=250
            )
        ]
        expected = [
            s.session_id
            for s in newest_first
            if s.user_id == "alice" and start_time <= s.create_time < end_time
        ]
        assert window == expected and len(expected) > 3000


async def write_expired_sessions(path: Path, count: int) -> list[str]:
    """Closed sessions last updated in 2020, written through a second connection to the database."""
    clock = FakeClock()
    clock.now = clock.now.replace(year=2020)
    store = await SqliteSessionStore(path, clock=clock).open()
    try:
        ids = []
        for index in range(count):
            session = await store.create_session("alice", {})
            await store.append_history(session.session_id, DomainRole.USER, "hello", "")
            status = DomainStatus.COMPLETED if index % 2 else DomainStatus.ABANDONED
            await store.update_status(session.session_id, status)
            ids.append(session.session_id)
        ids.append((await store.create_session("alice", {})).session_id)  # old but still ACTIVE
        return ids
    finally:
        await store.close()


async def test_retention_purges_expired_sessions_at_startup_and_on_request(
    start: StartServer, data_dir: Path
) -> None:
    *expired_before_start, old_active = await write_expired_sessions(data_dir / "sessions.db", 5)
    server = await start(retention_interval_s=86_400)
    assert await server.retention.next_run() == len(expired_before_start), "purged at start-up"
    await server.retention.stop()

    *expired_while_running, also_active = await write_expired_sessions(data_dir / "sessions.db", 3)
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        fresh = await sessions.create_session("bob")
        await sessions.update_session_status(fresh.session_id, SessionStatus.COMPLETED)
        assert await sessions.purge_expired_sessions() == len(expired_while_running)
        remaining = {s.session_id async for s in sessions.iter_sessions()}
        assert remaining == {old_active, also_active, fresh.session_id}
        assert await sessions.purge_expired_sessions() == 0


async def test_background_retention_purges_on_its_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    store = await SqliteSessionStore(tmp_path / "sessions.db", clock=clock).open()
    try:
        closed = await store.create_session("alice", {})
        await store.update_status(closed.session_id, DomainStatus.COMPLETED)
        active = await store.create_session("alice", {})
        task = RetentionTask(store, timedelta(days=7), timedelta(milliseconds=1), clock=clock)
        task.start()
        assert await task.next_run() == 0, "nothing has expired yet"
        clock.advance(days=8)
        assert await task.next_run() == 1
        await task.stop()
        remaining = await store.list_sessions(SessionFilter(), None, 10)
        assert [s.session_id for s in remaining] == [active.session_id]
    finally:
        await store.close()


async def test_schema_is_versioned_in_wal_mode_and_refuses_a_newer_one(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = await SqliteSessionStore(path).open()
    await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {
            row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"sessions_by_user_create", "sessions_by_user_update", "sessions_by_status_update"} <= indexes
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match="upgrade the server"):
        await SqliteSessionStore(path).open()
