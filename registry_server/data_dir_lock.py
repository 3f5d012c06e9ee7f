"""An exclusive lock on the data directory, so two servers never write the same files."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE_NAME = ".agent-registry.lock"


class DataDirInUseError(OSError):
    """Another server holds the data directory."""


class DataDirLock:
    """Holds `flock` on `<data-dir>/.agent-registry.lock`; the kernel releases it even on kill -9."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE_NAME
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Takes the lock or raises DataDirInUseError naming the holder's pid."""
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise DataDirInUseError(
                f"the data directory {self.path.parent} is in use by another server (pid {holder})"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        """Releases the lock."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
