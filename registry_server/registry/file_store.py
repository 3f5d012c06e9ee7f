"""The registry snapshot file: atomic replace keeping the previous snapshot as backup, per-record loading."""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from registry_server.domain.agent import AgentSpec
from registry_server.domain.errors import StorageUnavailableError
from registry_server.registry.document import (
    DocumentError,
    encode_record,
    etag_of,
    parse_document,
    parse_records,
)
from registry_server.registry.store import RejectedRecord, StoredAgent

log = logging.getLogger(__name__)

REGISTRY_FILE_NAME = "registry_config.json"


class LoadSource(enum.Enum):
    """Where the registry came from at start-up."""

    PRIMARY = "primary file"
    BACKUP = "backup file"
    DEFAULTS = "defaults file"
    EMPTY = "nothing (no registry and no defaults file)"


@dataclass
class SnapshotLoad:
    """The snapshot read at start-up: its agents and revision, where it came from, what was set aside."""

    agents: list[StoredAgent]
    revision: int
    source: LoadSource
    set_aside: list[Path] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)

    @property
    def specs(self) -> list[AgentSpec]:
        """The loaded agents' definitions."""
        return [agent.spec for agent in self.agents]


class FileStore:
    """Reads and writes `<data-dir>/registry_config.json`, keeping the previous good file as `.backup`."""

    def __init__(self, data_dir: Path, defaults_file: Path | None) -> None:
        self.path = data_dir / REGISTRY_FILE_NAME
        self.backup_path = data_dir / (REGISTRY_FILE_NAME + ".backup")
        self.defaults_file = defaults_file

    def save(self, content: bytes) -> None:
        """Makes `content` the registry file durably; on return it survives a crash or power loss."""
        directory = self.path.parent
        temp = directory / f".{REGISTRY_FILE_NAME}.tmp-{os.getpid()}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_synced(temp, content)
            if self.path.exists():
                self._keep_as_backup()
            os.replace(temp, self.path)
            sync_directory(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            log.error("could not write %s: %s", self.path, exc)
            raise StorageUnavailableError(
                f"the registry file could not be written ({exc.strerror or exc}); nothing was changed"
            ) from exc

    def _keep_as_backup(self) -> None:
        """Turns the current (good, fsynced) file into the backup without ever leaving no primary."""
        staged = self.backup_path.with_name(self.backup_path.name + ".tmp")
        staged.unlink(missing_ok=True)
        try:
            os.link(self.path, staged)
        except OSError:  # file systems without hard links
            shutil.copyfile(self.path, staged)
            with open(staged, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(staged, self.backup_path)

    def load(self) -> SnapshotLoad:
        """Reads the primary file, else the backup, else the defaults; unreadable files are set aside.

        A readable file is loaded record by record: a bad record is rejected with its reason, never the file.
        """
        set_aside: list[Path] = []
        for path, source in ((self.path, LoadSource.PRIMARY), (self.backup_path, LoadSource.BACKUP)):
            if not path.exists():
                continue
            try:
                parsed = parse_records(json.loads(path.read_bytes()))
            except (ValueError, DocumentError) as exc:
                kept = _set_aside(path)
                set_aside.append(kept)
                log.error("%s is corrupt (%s); kept it as %s", path.name, _short(exc), kept.name)
                continue
            if source is not LoadSource.PRIMARY:
                log.warning("recovered the registry from %s (%d agents)", path.name, len(parsed.agents))
            agents = [StoredAgent(spec, etag_of(encode_record(spec)), rev) for spec, rev in parsed.agents]
            rejected = [
                RejectedRecord(problem.name, problem.reason, problem.record, path.name)
                for problem in parsed.problems
            ]
            return SnapshotLoad(agents, parsed.revision, source, set_aside, rejected)
        defaults = [StoredAgent(spec, etag_of(encode_record(spec)), 0) for spec in self._load_defaults()]
        return SnapshotLoad(defaults, 0, self._defaults_source(), set_aside)

    def write_rejected(self, rejected: list[RejectedRecord]) -> Path:
        """Keeps rejected records, with their reasons, in `registry_config.rejected-<UTC time>.json`."""
        target = self.path.with_name(f"registry_config.rejected-{_stamp()}.json")
        document = [
            {"name": item.name, "reason": item.reason, "found_in": item.origin, "record": item.record}
            for item in rejected
        ]
        write_synced(target, json.dumps(document, indent=2, ensure_ascii=False, default=str).encode())
        sync_directory(target.parent)
        return target

    def _defaults_source(self) -> LoadSource:
        return LoadSource.DEFAULTS if self.defaults_file and self.defaults_file.exists() else LoadSource.EMPTY

    def _load_defaults(self) -> list[AgentSpec]:
        if not self.defaults_file or not self.defaults_file.exists():
            log.warning("no registry file and no defaults file (%s): starting empty", self.defaults_file)
            return []
        try:
            specs = parse_document(yaml.safe_load(self.defaults_file.read_text(encoding="utf-8")))
        except (yaml.YAMLError, DocumentError, UnicodeDecodeError) as exc:
            raise DefaultsFileError(
                f"the defaults file {self.defaults_file} is invalid: {_short(exc)}"
            ) from exc
        log.warning(
            "created the registry from the defaults file %s (%d agents)", self.defaults_file, len(specs)
        )
        return specs


class DefaultsFileError(Exception):
    """The defaults file cannot be read; the operator must fix it before the service can start."""


def write_synced(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _set_aside(path: Path) -> Path:
    """Renames a corrupt file to `<name>.corrupt-<UTC time>` so nothing ever overwrites it."""
    target = path.with_name(f"{path.name}.corrupt-{_stamp()}")
    os.replace(path, target)
    sync_directory(path.parent)
    return target


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."
