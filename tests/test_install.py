"""The wheels install and run outside the source tree, exactly as the Dockerfile builds and starts the image.

Both wheels are built by the Dockerfile's build stage from a copy of its build context; the runtime stage's
pip steps install them into a fresh venv, and its CMD and HEALTHCHECK run from a directory with no source. A
client installed from the client wheel alone then uses the server.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_AGENTS
from tests.dockerfile import Stage, read_stages

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
READY = re.compile(r"Registry service ready with (\d+) agents .* on (\S+?):(\d+)")
ADMIN_TOKEN = "install-test-admin-token"
IGNORED = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs a command, failing the test with its output when it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def clean_env(venv: Path, home: Path, **extra: str) -> dict[str, str]:
    """An environment that sees the venv and nothing of the source tree."""
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **extra}


def with_wheels(words: list[str], wheels: Path) -> list[str]:
    """A Dockerfile command with /wheels pointing at `wheels`, and its globs expanded as a shell would."""
    expanded: list[str] = []
    for word in (word.replace("/wheels", str(wheels)) for word in words):
        expanded += sorted(glob.glob(word)) if "*" in word else [word]
    return expanded


@pytest.fixture(scope="module")
def stages() -> tuple[Stage, Stage]:
    build, runtime = read_stages(DOCKERFILE)
    return build, runtime


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install")
    assert REPO not in root.parents
    return root


@pytest.fixture(scope="module")
def wheels(stages: tuple[Stage, Stage], outside: Path) -> Path:
    """The wheels, built by the build stage's pip steps from a copy of its COPY sources only."""
    build, _ = stages
    context, wheel_dir = outside / "src", outside / "wheels"
    for source, destination in build.copies():
        target = context / destination / (Path(source).name if destination.endswith("/") else "")
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, symlinks=True, ignore=IGNORED)
        else:
            shutil.copy2(REPO / source, target)
    for command in build.pip_commands():
        run(sys.executable, "-m", *with_wheels(command, wheel_dir), "--quiet", cwd=context)
    assert sorted(path.name.split("-")[0] for path in wheel_dir.glob("*.whl")) == [
        "agent_registry",
        "agent_registry_client",
    ]
    return wheel_dir


@pytest.fixture(scope="module")
def server_venv(stages: tuple[Stage, Stage], outside: Path, wheels: Path) -> Path:
    """A fresh venv holding what the runtime stage's pip steps install."""
    _, runtime = stages
    venv = outside / "server-venv"
    run(sys.executable, "-m", "venv", venv, cwd=outside)
    for command in runtime.pip_commands():
        run(venv / "bin" / "python", "-m", *with_wheels(command, wheels), "--quiet", cwd=outside)
    return venv


@pytest.fixture(scope="module")
def client_venv(outside: Path, wheels: Path) -> Path:
    """A fresh venv holding the client wheel (with its CLI extra) and nothing of the server."""
    venv = outside / "client-venv"
    run(sys.executable, "-m", "venv", venv, cwd=outside)
    (client_wheel,) = wheels.glob("agent_registry_client-*.whl")
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{client_wheel}[cli]", cwd=outside)
    return venv


@pytest.fixture
async def image(
    stages: tuple[Stage, Stage], server_venv: Path, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """The image's CMD running with its ENV (loopback, port 0, a token file, a new data dir)."""
    _, runtime = stages
    auth = tmp_path / "auth.yaml"
    digest = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    auth.write_text(yaml.safe_dump({"tokens": [{"name": "ops", "sha256": digest, "roles": ["admin"]}]}))
    workdir = tmp_path / "run"
    workdir.mkdir()
    overrides = {
        "AGENT_REGISTRY_HOST": "127.0.0.1",
        "AGENT_REGISTRY_PORT": "0",
        "AGENT_REGISTRY_METRICS_PORT": "0",
        "AGENT_REGISTRY_DATA_DIR": str(tmp_path / "new-data"),
        "AGENT_REGISTRY_AUTH_CONFIG": str(auth),
    }
    env = clean_env(server_venv, tmp_path, **{**runtime.env(), **overrides})
    process = await asyncio.create_subprocess_exec(
        *runtime.exec_form("CMD"), cwd=workdir, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        while not (match := READY.search(seen[-1] if seen else "")):
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "the image's CMD exited before it was ready:\n" + "".join(seen)
            seen.append(line)
        env["AGENT_REGISTRY_PORT"] = match.group(3)
        yield {**env, "target": f"127.0.0.1:{match.group(3)}", "agents": match.group(1)}
    finally:
        process.terminate()
        await process.wait()
    assert all(json.loads(line) for line in seen), "the image logs JSON lines"


async def test_the_image_starts_serves_and_passes_its_healthcheck(
    image: dict[str, str], stages: tuple[Stage, Stage], tmp_path: Path
) -> None:
    _, runtime = stages
    shipped = str(len(DEMO_AGENTS))
    assert image["agents"] == shipped, "a new data dir starts from the defaults shipped in the package"
    env = {key: value for key, value in image.items() if key.isupper() or key in ("PATH", "HOME", "LANG")}
    probe = await asyncio.to_thread(subprocess.run, runtime.exec_form("HEALTHCHECK"), env=env, cwd=tmp_path)
    assert probe.returncode == 0, "the HEALTHCHECK command reports the server healthy"


def test_the_installed_server_reports_its_version(server_venv: Path, tmp_path: Path) -> None:
    result = run(
        server_venv / "bin" / "agent-registry",
        "--version",
        cwd=tmp_path,
        env=clean_env(server_venv, tmp_path),
    )
    assert result.stdout.strip() == "agent-registry 0.1.0"


CLIENT_TURN = """
import asyncio, sys
from agent_registry_client import AgentResult, connect

async def main():
    async with connect(sys.argv[1], token=sys.argv[2]) as client:
        async for event in client.router.route_and_invoke("show my tickets", user_id="alice"):
            if isinstance(event, AgentResult):
                print(event.agent_name, event.success, event.response.splitlines()[0])

asyncio.run(main())
"""


async def test_a_client_from_its_wheel_alone_routes_a_turn(
    image: dict[str, str], client_venv: Path, tmp_path: Path
) -> None:
    env = clean_env(
        client_venv, tmp_path, AGENT_REGISTRY_TARGET=image["target"], AGENT_REGISTRY_TOKEN=ADMIN_TOKEN
    )
    python = client_venv / "bin" / "python"
    missing = run(python, "-c", _MISSING_CHECK, cwd=tmp_path, env=env)
    assert missing.stdout.split() == ["aiosqlite", "google.genai", "registry_server"]

    def agentctl(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(client_venv / "bin" / "agentctl"), *args]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    health = await asyncio.to_thread(agentctl, "health")
    assert health.returncode == 0 and "SERVING" in health.stdout
    listed = await asyncio.to_thread(agentctl, "-o", "json", "agents", "list")
    assert listed.returncode == 0, listed.stderr
    assert {agent["name"] for agent in json.loads(listed.stdout)} == DEMO_AGENTS
    missing_agent = await asyncio.to_thread(agentctl, "agents", "get", "nobody_agent")
    assert missing_agent.returncode == 1 and "NOT_FOUND" in missing_agent.stderr
    turn = await asyncio.to_thread(
        subprocess.run,
        [str(python), "-c", CLIENT_TURN, image["target"], ADMIN_TOKEN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert turn.returncode == 0, turn.stderr
    assert turn.stdout.startswith("tickets_agent True You have 3 tickets")


_MISSING_CHECK = """
import importlib.util
for name in ("aiosqlite", "google.genai", "registry_server"):
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        print(name)
"""


def test_the_repository_has_no_second_copy_of_the_stubs() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    copies = [name for name in tracked.split() if name.endswith("registry_service_pb2.py")]
    assert copies == ["generated/agentregistry/v1/registry_service_pb2.py"]
    assert os.path.islink(REPO / "registry_server" / "defaults" / "default_registry.yaml")
