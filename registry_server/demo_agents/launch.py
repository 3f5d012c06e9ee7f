"""`make demo`: the demo agents as separate A2A services, then the registry with a registry pointing at them.

The registry runs in the foreground with the arguments not meant for the launcher; when it stops, the agent
services are stopped too.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import yaml

from registry_server.demo_agents.serve import SERVICES

# Which registry entry each demo service backs.
AGENT_OF_SERVICE = {"tickets": "tickets_agent", "finops": "finops_agent", "oxygen": "oxygen_agent"}
START_TIMEOUT_S = 30.0


def main(argv: Sequence[str] | None = None) -> int:
    """Starts the services, waits for their cards, runs the registry; returns the registry's exit code."""
    parser = argparse.ArgumentParser(
        description="Runs the demo agents as A2A services, then the registry with the other arguments."
    )
    for service, settings in SERVICES.items():
        parser.add_argument(
            f"--{service}-port", type=int, default=settings.port, help=f"default {settings.port}"
        )
    parser.add_argument("--defaults-file", type=Path, default=Path("data/demo_registry.yaml"))
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    args, registry_args = parser.parse_known_args(argv)
    ports = {service: getattr(args, f"{service}_port") for service in SERVICES}
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    children = [
        _start("registry_server.demo_agents.serve", service, "--port", str(port))
        for service, port in ports.items()
    ]
    try:
        _wait_for_cards(ports)
        args.data_dir.mkdir(parents=True, exist_ok=True)
        defaults = _defaults_with_ports(args.defaults_file, args.data_dir, ports)
        registry = _start(
            "registry_server",
            "--data-dir",
            str(args.data_dir),
            "--defaults-file",
            str(defaults),
            *registry_args,
        )
        children.insert(0, registry)
        return registry.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        for process in children:
            process.terminate()
        for process in children:
            process.wait(30)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _start(module: str, *args: str) -> subprocess.Popen[bytes]:
    # Our own interpreter and modules; the arguments are the operator's own command line.
    return subprocess.Popen([sys.executable, "-m", module, *args])  # noqa: S603


def _wait_for_cards(ports: dict[str, int]) -> None:
    """Waits until every service serves its agent card."""
    deadline = time.monotonic() + START_TIMEOUT_S
    for service, port in ports.items():
        url = f"http://127.0.0.1:{port}/.well-known/agent-card.json"
        while True:
            try:
                httpx.get(url, timeout=1.0).raise_for_status()
                break
            except httpx.HTTPError as error:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the {service} agent did not start on port {port}: {error}") from error
                time.sleep(0.1)


def _defaults_with_ports(source: Path, data_dir: Path, ports: dict[str, int]) -> Path:
    """The demo registry with each remote agent's URL on its service's port, written into the data dir."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    for service, port in ports.items():
        agent = document["agents"].get(AGENT_OF_SERVICE[service])
        if agent and "a2a" in agent:
            agent["a2a"]["url"] = f"http://127.0.0.1:{port}"
    target = data_dir / "demo_registry.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


if __name__ == "__main__":
    sys.exit(main())
