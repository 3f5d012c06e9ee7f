"""A real PostgreSQL server for tests: initdb + pg_ctl in a temp dir, run as an unprivileged user.

Fixtures: `postgres_server` (one server per test session) and `postgres_url` (a fresh, empty database
per test, as a `postgresql://` URL). Under `CI=true` a missing PostgreSQL fails the test run; elsewhere
the tests that need it are skipped with a message saying how to install it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BINDIR_VARIABLE = "AGENT_REGISTRY_PG_BINDIR"
SYSTEM_USER = "agentregistry-pg"
SUPERUSER = "registry"
DEBIAN_BINDIRS = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60
_database_numbers = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed on this machine."""


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when they are not installed."""
    candidates: list[Path] = []
    if configured := os.environ.get(BINDIR_VARIABLE):
        candidates.append(Path(configured))
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)
    candidates.append(Path("/usr/local/bin"))
    if DEBIAN_BINDIRS.is_dir():
        versions = sorted(
            (entry for entry in DEBIAN_BINDIRS.iterdir() if entry.name.isdigit()),
            key=lambda entry: int(entry.name),
            reverse=True,
        )
        candidates.extend(version / "bin" for version in versions)
    for candidate in candidates:
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return (candidate / "initdb").resolve().parent
    return None


def unprivileged_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when we are root (initdb refuses root); None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in its own directory, listening on 127.0.0.1:`port` and a socket in the dir."""

    def __init__(
        self, bindir: Path, root: Path, user: pwd.struct_passwd | None, *, durable: bool, port: int = 0
    ) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log_file = root / "postgres.log"
        self.user = user
        self.durable = durable
        self.port = port or free_port()

    @classmethod
    def create(cls, root: Path | None = None, *, durable: bool = False, port: int = 0) -> PostgresServer:
        """initdb in `root` and start the server; raises PostgresUnavailable.

        `root` defaults to a new temp dir; a given one must be reachable by the unprivileged user (pytest's
        tmp_path is not: its parents are private to root). A `root` initialised before is reused.
        """
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install them "
                f"(`apt-get install postgresql`, or run `make test` as root) or set {BINDIR_VARIABLE}"
            )
        user = unprivileged_user()
        root = root or Path(tempfile.mkdtemp(prefix="agent-registry-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        server = cls(bindir, root, user, durable=durable, port=port)
        if not (server.data / "PG_VERSION").exists():
            server.initdb()
        server.start()
        return server

    def url(self, database: str = "postgres") -> str:
        """The `postgresql://` URL of a database on this server (trust auth on loopback, no password)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Runs one of the server binaries as the unprivileged user.

        Through `runuser` when it exists: changing user in the forked child instead would rule out
        vfork, and a plain fork of a process with gRPC threads can crash in the child.
        """
        user = self.user
        command = [str(self.bindir / args[0]), *args[1:]]
        runuser = shutil.which("runuser")
        if user is not None and runuser:
            command = [runuser, "-u", user.pw_name, "--", *command]
            user = None
        return subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )

    def _checked(self, *args: str) -> None:
        """Runs a binary and raises with its output when it fails."""
        result = self._run(*args)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{log}")

    def initdb(self) -> None:
        """Creates the cluster with a trusting superuser (loopback and the private socket only)."""
        self._checked(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _options(self) -> str:
        """postgres command-line settings: loopback only, socket in our dir, fsync as requested."""
        settings = [
            "-c listen_addresses=127.0.0.1",
            f"-p {self.port}",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c full_page_writes=off"]
        return " ".join(settings)

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        self._checked(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log_file), "-o", self._options()
        )

    def stop(self, mode: str = "fast") -> None:
        """Stops the server: `fast` disconnects clients cleanly, `immediate` is a crash."""
        self._checked("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def restart(self) -> None:
        """Stops (fast) and starts again on the same port."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        """Whether pg_ctl sees a live server in the data dir."""
        return self._run("pg_ctl", "status", "-D", str(self.data)).returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs one SQL command through psql over the private socket and returns its output."""
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr}")
        return result.stdout

    def create_database(self, name: str | None = None, *, exist_ok: bool = False) -> str:
        """Creates an empty database (or, with `exist_ok`, keeps an existing one) and returns its URL."""
        name = name or f"test_{os.getpid()}_{next(_database_numbers)}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608  (a plain name, checked)
        exists = self.psql(query).strip() == "1"
        if not (exists and exist_ok):
            self.psql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops a database, disconnecting whoever is still on it."""
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def destroy(self) -> None:
        """Stops the server (if running) and removes its directory."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if self.is_running():
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def require_postgres(error: PostgresUnavailable) -> None:
    """Fails under CI (a missing PostgreSQL there is a broken machine), skips elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true and PostgreSQL is missing: {error}", pytrace=False)
    pytest.skip(f"PostgreSQL is not installed: {error}")


def start_postgres(root: Path | None = None, *, durable: bool = False) -> PostgresServer:
    """A started server, or a skip/fail (see require_postgres) when PostgreSQL is not installed."""
    try:
        return PostgresServer.create(root, durable=durable)
    except PostgresUnavailable as error:
        require_postgres(error)
        raise


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    server = start_postgres()
    yield server
    server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test, as a `postgresql://` URL."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url.rsplit("/", 1)[1])
