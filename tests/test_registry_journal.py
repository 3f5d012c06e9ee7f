"""The embedded registry store: journal, group commit, torn tails, compaction, recovery; no server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import RevisionCompactedError, StorageUnavailableError
from registry_server.registry.document import encode_record, etag_of
from registry_server.registry.journal import SegmentWriter
from registry_server.registry.journal_store import JournalStore
from registry_server.registry.store import (
    Change,
    ChangeKind,
    DeleteAgent,
    DuplicateRequestError,
    PutAgent,
    StoreConflictError,
)

ECHO = FactoryRef("tests.fake_agents", "create_echo_agent")


def put(name: str, expected: str | None = None, description: str = "") -> PutAgent:
    spec = AgentSpec(name, ECHO, description=description)
    return PutAgent(spec, etag_of(encode_record(spec)), expected)


async def opened(data_dir: Path, **limits: int) -> JournalStore:
    store = JournalStore(data_dir, None, **limits)
    await store.load()
    return store


async def names_after_restart(data_dir: Path) -> dict[str, int]:
    store = JournalStore(data_dir, None)
    loaded = await store.load()
    await store.close()
    return {agent.spec.name: agent.revision for agent in loaded.agents}


def segments(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("registry_journal.*.log"))


async def test_each_change_gets_the_next_revision_and_survives_a_restart(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    assert await store.commit(Change((put("a_agent"),))) == 1
    assert await store.commit(Change((put("b_agent"), put("c_agent")))) == 3
    assert await store.commit(Change((DeleteAgent("a_agent", put("a_agent").etag),))) == 4
    # no close: the snapshot is not rewritten, the journal alone carries the changes
    assert await names_after_restart(tmp_path) == {"b_agent": 2, "c_agent": 3}


async def test_concurrent_commits_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await opened(tmp_path)
    appends: list[int] = []
    original = SegmentWriter.append

    def counting(self: SegmentWriter, data: bytes, records: int) -> None:
        appends.append(records)
        original(self, data, records)

    monkeypatch.setattr(SegmentWriter, "append", counting)
    revisions = await asyncio.gather(*(store.commit(Change((put(f"n{i}_agent"),))) for i in range(50)))
    assert sorted(revisions) == list(range(1, 51))
    assert sum(appends) == 50 and len(appends) < 50, "concurrent changes are group-committed"
    await store.close()
    assert len(await names_after_restart(tmp_path)) == 50


async def test_stale_etags_and_taken_names_are_refused_atomically(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("b_agent"), put("a_agent"))))
    with pytest.raises(StoreConflictError):
        await store.commit(Change((put("a_agent", expected="stale", description="x"),)))
    assert store.revision == 1
    assert await names_after_restart(tmp_path) == {"a_agent": 1}


async def test_a_full_disk_changes_nothing_and_the_store_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))

    def full(descriptor: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("registry_server.registry.journal.write_all", full)
    with pytest.raises(StorageUnavailableError, match="No space left"):
        await store.commit(Change((put("b_agent"),)))
    monkeypatch.undo()
    assert await store.commit(Change((put("c_agent"),))) == 2, "the failed change took no revision"
    assert await names_after_restart(tmp_path) == {"a_agent": 1, "c_agent": 2}


async def test_a_torn_tail_record_is_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))
    await store.commit(Change((put("b_agent"),)))
    [segment] = segments(tmp_path)
    content = segment.read_bytes()
    segment.write_bytes(content[:-7])  # the last record was being written when the power went

    assert await names_after_restart(tmp_path) == {"a_agent": 1}
    assert "dropped a torn record" in caplog.text
    reopened = await opened(tmp_path)
    assert await reopened.commit(Change((put("c_agent"),))) == 2
    assert await names_after_restart(tmp_path) == {"a_agent": 1, "c_agent": 2}


async def test_a_flipped_bit_fails_the_checksum(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))
    await store.commit(Change((put("b_agent", description="original"),)))
    [segment] = segments(tmp_path)
    segment.write_bytes(segment.read_bytes().replace(b"original", b"origina1"))
    assert await names_after_restart(tmp_path) == {"a_agent": 1}


async def test_compaction_keeps_every_agent_and_drops_old_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("registry_server.registry.journal_store.RETAINED_CHANGES", 20)
    store = await opened(tmp_path, compact_after_records=10)
    for index in range(95):
        await store.commit(Change((put(f"n{index}_agent"),)))
    await store.close()
    snapshot = json.loads((tmp_path / "registry_config.json").read_text())
    assert snapshot["revision"] == 95 and len(snapshot["agents"]) == 95
    assert len(segments(tmp_path)) <= 5, "segments neither the backup nor the history needs are deleted"
    assert len(await names_after_restart(tmp_path)) == 95
    reopened = await opened(tmp_path)
    assert [record.revision for record in await reopened.changes_since(75)] == list(range(76, 96))


async def test_restart_replays_the_journal_over_the_snapshot(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))
    await store.close()  # snapshot at revision 1
    store = await opened(tmp_path)
    await store.commit(Change((put("b_agent"),)))
    await store.commit(Change((DeleteAgent("a_agent", put("a_agent").etag),)))
    assert await names_after_restart(tmp_path) == {"b_agent": 2}


async def test_a_crash_between_snapshot_and_journal_cleanup_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlink = Path.unlink

    def crash(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith("registry_journal."):
            raise OSError(5, "crashed before the old segments were deleted")
        unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", crash)
    store = await opened(tmp_path, compact_after_records=5)
    for index in range(12):
        await store.commit(Change((put(f"n{index}_agent"),)))
    await store.close()
    monkeypatch.undo()
    assert json.loads((tmp_path / "registry_config.json").read_text())["revision"] == 12
    assert len(segments(tmp_path)) >= 3, "the snapshot is new, every old segment is still there"
    assert await names_after_restart(tmp_path) == {f"n{index}_agent": index + 1 for index in range(12)}


async def test_a_lost_snapshot_is_rebuilt_from_the_backup_and_the_journal(tmp_path: Path) -> None:
    store = await opened(tmp_path, compact_after_records=4)
    for index in range(30):
        await store.commit(Change((put(f"n{index}_agent"),)))
    await store.close()
    (tmp_path / "registry_config.json").write_bytes(b"\x00" * 100)
    assert len(await names_after_restart(tmp_path)) == 30


async def test_request_ids_are_applied_once_even_after_a_restart(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    change = Change((put("a_agent"),), request_id="req-1", request_fingerprint="fp")
    await store.commit(change)
    with pytest.raises(DuplicateRequestError) as first:
        await store.commit(change)
    assert [record.revision for record in first.value.records] == [1]
    await store.close()
    reopened = await opened(tmp_path)
    with pytest.raises(DuplicateRequestError):
        await reopened.commit(change)
    assert reopened.revision == 1


async def test_changes_since_serves_kept_history_and_refuses_compacted_revisions(tmp_path: Path) -> None:
    store = await opened(tmp_path, history_limit=5)
    for index in range(8):
        await store.commit(Change((put(f"n{index}_agent"),)))
    assert [record.revision for record in await store.changes_since(5)] == [6, 7, 8]
    assert all(record.kind is ChangeKind.PUT for record in await store.changes_since(3))
    with pytest.raises(RevisionCompactedError, match="list the agents again"):
        await store.changes_since(2)
    assert await store.changes_since(8) == []


async def test_kill_9_copy_of_the_data_dir_mid_write_loads(tmp_path: Path) -> None:
    """A copy taken while writes are in flight stands for a crash: it loads, with a prefix of the changes."""
    store = await opened(tmp_path / "live")
    writes = [asyncio.create_task(store.commit(Change((put(f"n{i}_agent"),)))) for i in range(40)]
    await asyncio.sleep(0)
    crash = tmp_path / "crash"
    shutil.copytree(tmp_path / "live", crash)
    await asyncio.gather(*writes)
    loaded = await names_after_restart(crash)
    assert sorted(loaded.values()) == list(range(1, len(loaded) + 1))
    assert os.path.exists(crash / "registry_config.json")


async def test_a_journal_that_cannot_be_repaired_refuses_writes_until_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await opened(tmp_path)
    await store.commit(Change((put("a_agent"),)))

    def broken(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("registry_server.registry.journal.os.fsync", broken)
    monkeypatch.setattr("registry_server.registry.journal.os.ftruncate", broken)
    with pytest.raises(StorageUnavailableError):
        await store.commit(Change((put("b_agent"),)))
    monkeypatch.undo()
    with pytest.raises(StorageUnavailableError, match="restart the server"):
        await store.commit(Change((put("c_agent"),)))
    assert "a_agent" in await names_after_restart(tmp_path)


async def test_a_segment_that_cannot_be_created_leaves_writes_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await opened(tmp_path, compact_after_records=2)

    def refuse(self: SegmentWriter, path: Path, first_revision: int) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(SegmentWriter, "__init__", refuse)
    for index in range(5):
        assert await store.commit(Change((put(f"n{index}_agent"),))) == index + 1
    monkeypatch.undo()
    await store.close()
    assert len(await names_after_restart(tmp_path)) == 5
