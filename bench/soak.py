"""`make soak`: mixed load from several client processes while the server is kill -9ed and restarted.

Afterwards a fresh server must hold every acknowledged write, every seq must be gap-free, and both files must
load without recovery. Prints one JSON summary; exits 1 if anything was lost.
`python -m bench.soak [--duration 300] [--clients 3] [--restart-every 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from grpc import aio

from agentregistry.v1 import (
    registry_service_pb2,
    registry_service_pb2_grpc,
    session_service_pb2,
    session_service_pb2_grpc,
)
from bench.processes import REPO, start_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_acks(paths: list[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


async def verify(target: str, acks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Checks every acknowledged write against a freshly started server: what is lost, where seq has gaps."""
    async with aio.insecure_channel(target) as channel:
        lost = await _verify_agents(registry_service_pb2_grpc.RegistryServiceStub(channel), acks)
        session_lost, gaps = await _verify_sessions(
            session_service_pb2_grpc.SessionServiceStub(channel), acks
        )
    return {"lost": lost + session_lost, "gaps": gaps}


async def _verify_agents(registry: Any, acks: list[dict[str, Any]]) -> list[str]:
    """Every acknowledged agent exists; its description is the last acknowledged one or a later attempt's."""
    descriptions: dict[str, str] = {}
    token = ""
    while True:
        page = await registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(page_size=1000, page_token=token)
        )
        descriptions.update({agent.name: agent.description for agent in page.agents})
        token = page.next_page_token
        if not token:
            break
    lost = [f"agent {a['name']}" for a in acks if a["op"] == "register" and a["name"] not in descriptions]
    pending: dict[str, list[str]] = defaultdict(list)  # attempts since the last acknowledged update
    last_acked: dict[str, str] = {}
    for ack in acks:
        if ack["op"] == "update_attempt":
            pending[ack["name"]].append(ack["description"])
        elif ack["op"] == "update":
            last_acked[ack["name"]] = ack["description"]
            pending[ack["name"]] = pending[ack["name"]][pending[ack["name"]].index(ack["description"]) :]
    for name, description in last_acked.items():
        if descriptions.get(name) not in {description, *pending[name]}:
            lost.append(f"update of {name}: stored {descriptions.get(name)!r}, acknowledged {description!r}")
    return lost


async def _verify_sessions(sessions: Any, acks: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Every acknowledged entry, invocation and turn is stored where it was acknowledged; seq has no gaps."""
    stored: dict[str, Any] = {}
    gaps = []
    for session_id in sorted({ack["session"] for ack in acks if "session" in ack}):
        request = session_service_pb2.GetSessionRequest(
            session_id=session_id, history_page_size=10_000, invocation_page_size=10_000
        )
        session = stored[session_id] = (await sessions.GetSession(request)).session
        if [e.seq for e in session.history] != list(range(1, session.history_count + 1)):
            gaps.append(f"history of {session_id}")
        if [i.seq for i in session.invocations] != list(range(1, session.invocation_count + 1)):
            gaps.append(f"invocations of {session_id}")
    lost = []
    for ack in acks:
        session = stored.get(ack.get("session", ""))
        if ack["op"] == "append" and not _at(session.history, ack["seq"], "content", ack["content"]):
            lost.append(f"history entry {ack['seq']} of {ack['session']}")
        elif ack["op"] == "invoke" and not _at(session.invocations, ack["seq"], "query", ack["query"]):
            lost.append(f"invocation {ack['seq']} of {ack['session']}")
        elif ack["op"] == "turn" and not any(entry.content == ack["query"] for entry in session.history):
            lost.append(f"turn {ack['query']!r} of {ack['session']}")
    return lost, gaps


def _at(items: Any, seq: int, field: str, expected: str) -> bool:
    return 0 < seq <= len(items) and getattr(items[seq - 1], field) == expected


def run(duration_s: float, clients: int, restart_every_s: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="agent-registry-soak-"))
    data_dir = work / "data"
    data_dir.mkdir()
    port = free_port()
    target = f"127.0.0.1:{port}"
    server = start_server(data_dir, port=port)
    deadline = time.time() + duration_s
    ack_logs = [work / f"acks-{n}.jsonl" for n in range(clients)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.soak_client",
                json.dumps(
                    {
                        "target": target,
                        "client_id": n,
                        "ack_log": str(ack_logs[n]),
                        "deadline": deadline,
                        "seed": seed + n,
                    }
                ),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(clients)
    ]
    restarts = 0
    while time.time() < deadline - restart_every_s / 2:
        time.sleep(min(rng.uniform(0.5, 1.5) * restart_every_s, max(0.0, deadline - time.time())))
        server.kill()
        restarts += 1
        server = start_server(data_dir, port=port)
    outputs = [worker.communicate(timeout=120) for worker in workers]
    client_errors = [
        err[-2000:] for (out, err), worker in zip(outputs, workers, strict=True) if worker.returncode
    ]
    server.kill()  # one last crash, then a clean start to verify against
    restarts += 1
    verifier = start_server(data_dir, port=port)
    try:
        acks = read_acks(ack_logs)
        result = asyncio.run(verify(target, acks))
        log_text = verifier.log_path.read_text()
    finally:
        verifier.stop()
    corrupt = sorted(p.name for p in data_dir.iterdir() if ".corrupt-" in p.name)
    counts = Counter(ack["op"] for ack in acks if ack["op"] != "update_attempt")
    recovered = "recovered" in log_text or "not a readable SQLite database" in log_text
    ok = not result["lost"] and not result["gaps"] and not corrupt and not recovered and not client_errors
    return {
        "ok": ok,
        "duration_s": duration_s,
        "clients": clients,
        "restarts": restarts,
        "acknowledged": dict(sorted(counts.items())),
        "acknowledged_total": sum(counts.values()),
        "lost": len(result["lost"]),
        "lost_examples": result["lost"][:10],
        "seq_gaps": result["gaps"][:10],
        "corrupt_files": corrupt,
        "recovery_on_restart": recovered,
        "client_errors": client_errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--clients", type=int, default=3, help="client processes (default 3)")
    parser.add_argument(
        "--restart-every", type=float, default=3, help="mean seconds between kill -9s (default 3)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    summary = run(args.duration, args.clients, args.restart_every, args.seed)
    print(json.dumps(summary, indent=2))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
