"""`make run-cluster`: PostgreSQL in ./data/pg (as an unprivileged user) and two instances sharing it.

Instance A listens on 127.0.0.1:8003, instance B on 127.0.0.1:8004 (override with --ports), each with
its own data dir for what is still local. Ctrl-C stops both instances, then PostgreSQL; the database
stays in ./data/pg for the next run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.postgres import PostgresServer  # noqa: E402  (the repository's PostgreSQL launcher)

DATABASE = "agent_registry"


def main() -> None:
    """Starts PostgreSQL and the instances, and stops them all on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ports", type=int, nargs="+", default=[8003, 8004], help="one port per instance")
    parser.add_argument("--pg-port", type=int, default=55432, help="PostgreSQL's port on 127.0.0.1")
    parser.add_argument("--data", type=Path, default=REPO / "data", help="where data/pg and the dirs go")
    args = parser.parse_args()

    postgres = PostgresServer.create(args.data / "pg", durable=True, port=args.pg_port)
    url = postgres.create_database(DATABASE, exist_ok=True)
    print(f"PostgreSQL: {url} (data in {postgres.data}, log {postgres.log_file})", flush=True)
    instances = [start_instance(url, port, args.data / f"instance-{port}") for port in args.ports]
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for port in args.ports:
            print(f"instance on 127.0.0.1:{port}", flush=True)
        for instance in instances:
            instance.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for instance in instances:
            instance.terminate()
        for instance in instances:
            instance.wait(timeout=30)
        postgres.stop()
        print("stopped the instances and PostgreSQL", flush=True)


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM stops the cluster as Ctrl-C does."""
    raise KeyboardInterrupt


def start_instance(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """One server process on `port` with the shared database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "registry_server",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--defaults-file",
            str(REPO / "data" / "default_registry.yaml"),
            "--database-url",
            url,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


if __name__ == "__main__":
    main()
