"""`make soak`: mixed load from several client processes while the server is kill -9ed and restarted.

The clients retry as real clients do (the same request_id after UNAVAILABLE or a dropped connection).
Afterwards a fresh server must hold every acknowledged write exactly once (no retry recorded twice), every seq
must be gap-free, and both files must load without recovery. Prints one JSON summary; exits 1 if anything
was lost or doubled.
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
    session_pb2,
    session_service_pb2,
    session_service_pb2_grpc,
)
from bench.processes import REPO, start_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_acks(paths: list[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


async def verify(target: str, acks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Checks every acknowledged write against a freshly started server: what is lost, what is stored twice,
    where seq has gaps."""
    async with aio.insecure_channel(target) as channel:
        lost = await _verify_agents(registry_service_pb2_grpc.RegistryServiceStub(channel), acks)
        session_lost, gaps, duplicates = await _verify_sessions(
            session_service_pb2_grpc.SessionServiceStub(channel), acks
        )
    return {"lost": lost + session_lost, "gaps": gaps, "duplicates": duplicates}


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


async def _verify_sessions(
    sessions: Any, acks: list[dict[str, Any]]
) -> tuple[list[str], list[str], list[str]]:
    """Every acknowledged entry, invocation, event and turn is stored where acknowledged, and only once;
    seq has no gaps."""
    stored: dict[str, dict[str, list[Any]]] = {}
    gaps = []
    duplicates = []
    for session_id in sorted({ack["session"] for ack in acks if "session" in ack}):
        lists = stored[session_id] = await _read_session(sessions, session_id)
        for kind, items in lists.items():
            if [item.seq for item in items] != list(range(1, len(items) + 1)):
                gaps.append(f"{kind} of {session_id}")
        duplicates += _recorded_twice(session_id, lists)
    by_seq = {
        session_id: {kind: {item.seq: item for item in items} for kind, items in lists.items()}
        for session_id, lists in stored.items()
    }
    messages = {session_id: {e.content for e in lists["history"]} for session_id, lists in stored.items()}
    lost = []
    for ack in acks:
        seqs = by_seq.get(ack.get("session", ""), {})
        if ack["op"] == "append" and not _at(seqs["history"], ack["seq"], "content", ack["content"]):
            lost.append(f"history entry {ack['seq']} of {ack['session']}")
        elif ack["op"] == "invoke" and not _at(seqs["invocations"], ack["seq"], "query", ack["query"]):
            lost.append(f"invocation {ack['seq']} of {ack['session']}")
        elif ack["op"] == "event" and not _at(seqs["events"], ack["seq"], "id", ack["event_id"]):
            lost.append(f"event {ack['seq']} of {ack['session']}")
        elif ack["op"] == "turn" and ack["query"] not in messages.get(ack["session"], set()):
            lost.append(f"turn {ack['query']!r} of {ack['session']}")
    return lost, gaps, duplicates


# Each list of a session, with the GetSession fields that page it.
SESSION_LISTS = {
    "history": ("history_page_size", "history_page_token", "next_history_page_token"),
    "invocations": ("invocation_page_size", "invocation_page_token", "next_invocation_page_token"),
    "events": ("event_page_size", "event_page_token", "next_event_page_token"),
}


async def _read_session(sessions: Any, session_id: str) -> dict[str, list[Any]]:
    """A session's history, invocations and events, each read page by page to the end."""
    lists: dict[str, list[Any]] = {}
    for kind, (size_field, token_field, next_field) in SESSION_LISTS.items():
        items: list[Any] = []
        token = ""
        while True:
            request = session_service_pb2.GetSessionRequest(session_id=session_id)
            for other_size, _, _ in SESSION_LISTS.values():  # the other lists: one item, unused
                setattr(request, other_size, 1)
            setattr(request, size_field, 1000)
            setattr(request, token_field, token)
            reply = await sessions.GetSession(request)
            items += getattr(reply.session, kind)
            token = getattr(reply, next_field)
            if not token:
                break
        lists[kind] = items
    return lists


def _recorded_twice(session_id: str, lists: dict[str, list[Any]]) -> list[str]:
    """Writes stored more than once: every soak message, query and event id is unique when first sent."""
    keys = {
        "message": [e.content for e in lists["history"] if e.role == session_pb2.ROLE_USER],
        "invocation": [i.query for i in lists["invocations"] if i.query.startswith("query ")],
        "event": [e.id for e in lists["events"]],
    }
    return [
        f"{kind} {key!r} of {session_id} stored {count} times"
        for kind, values in keys.items()
        for key, count in Counter(values).items()
        if count > 1
    ]


def _at(items: dict[int, Any], seq: int, field: str, expected: str) -> bool:
    """Whether the item stored with `seq` has `expected` in `field` (looked up by seq, so a gap elsewhere is
    reported as a gap, not as every later write lost)."""
    return seq in items and getattr(items[seq], field) == expected


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
    counts = Counter(ack["op"] for ack in acks if not ack["op"].endswith("_attempt"))
    client_summaries = [
        json.loads(out) for (out, _), worker in zip(outputs, workers, strict=True) if not worker.returncode
    ]
    recovered = "recovered" in log_text or "not a readable SQLite database" in log_text
    ok = (
        not result["lost"]
        and not result["duplicates"]
        and not result["gaps"]
        and not corrupt
        and not recovered
        and not client_errors
    )
    return {
        "ok": ok,
        "duration_s": duration_s,
        "clients": clients,
        "restarts": restarts,
        "acknowledged": dict(sorted(counts.items())),
        "acknowledged_total": sum(counts.values()),
        "lost": len(result["lost"]),
        "lost_examples": result["lost"][:10],
        "duplicates": len(result["duplicates"]),
        "duplicate_examples": result["duplicates"][:10],
        "retries": sum(summary["retries"] for summary in client_summaries),
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
