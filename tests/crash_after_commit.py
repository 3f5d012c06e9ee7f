"""The real server, except that it SIGKILLs itself right after committing a write whose request id starts
with "crash-": the commit is durable, the reply is never sent. Run as `python -m tests.crash_after_commit`."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from registry_server.__main__ import main
from registry_server.sessions import sqlite_connections

_original_once = sqlite_connections.once


def _once_then_die_after_commit(connection: Any, request_id: str, *args: Any) -> Any:
    result = _original_once(connection, request_id, *args)
    if request_id.startswith("crash-"):
        connection.execute("COMMIT")  # the write and its request id are now durable
        os.kill(os.getpid(), signal.SIGKILL)
    return result


sqlite_connections.once = _once_then_die_after_commit  # type: ignore[assignment]

if __name__ == "__main__":
    main(sys.argv[1:])
