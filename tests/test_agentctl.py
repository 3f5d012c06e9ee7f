"""agentctl against a real server: each command succeeds, and failures exit non-zero with the gRPC code."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml

from agent_registry_client.agentctl.main import main
from registry_server.server import RegistryServer
from tests.conftest import DEFAULTS_FILE, DEMO_AGENTS, StartServer
from tests.test_readme import readme_block


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def _run(argv: list[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


async def agentctl(server: RegistryServer, *args: str) -> Result:
    """Runs agentctl in a thread (it runs its own event loop) against `server`."""
    return await asyncio.to_thread(_run, ["--target", f"127.0.0.1:{server.port}", *args])


AGENT_FILE = {
    "name": "audit_agent",
    "description": "Audits",
    "factory": {
        "module": "tests.fake_agents",
        "function": "create_echo_agent",
        "kwargs": {"prefix": "a", "repeat": 2},
    },
    "capabilities": {"domains": ["audits"], "priority": 3},
    "tags": ["qa"],
}


async def test_agents_commands(server: RegistryServer, tmp_path: Path) -> None:
    listed = await agentctl(server, "agents", "list")
    assert listed.code == 0 and listed.out.splitlines()[0].split()[:3] == ["NAME", "STATE", "ENABLED"]
    assert {line.split()[0] for line in listed.out.splitlines()[1:]} == DEMO_AGENTS

    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(AGENT_FILE))
    registered = await agentctl(server, "-o", "json", "agents", "register", "-f", str(path))
    assert registered.code == 0, registered.err
    agent = json.loads(registered.out)
    assert agent["name"] == "audit_agent" and agent["factory"]["kwargs"] == {"prefix": "a", "repeat": 2}
    assert isinstance(agent["factory"]["kwargs"]["repeat"], int), "whole numbers stay int"

    again = await agentctl(server, "agents", "register", "-f", str(path))
    assert again.code == 1 and again.err.startswith("error: ALREADY_EXISTS: ")

    disabled = await agentctl(server, "-o", "yaml", "agents", "disable", "audit_agent")
    assert disabled.code == 0 and yaml.safe_load(disabled.out)["enabled"] is False
    assert (await agentctl(server, "agents", "list", "--disabled")).out.count("audit_agent") == 1
    assert (await agentctl(server, "agents", "enable", "audit_agent")).code == 0
    assert (await agentctl(server, "agents", "reload", "audit_agent")).code == 0
    stale = await agentctl(server, "agents", "delete", "audit_agent", "--etag", "0" * 20)
    assert stale.code == 1 and "ABORTED" in stale.err
    assert (await agentctl(server, "agents", "delete", "audit_agent")).code == 0
    missing = await agentctl(server, "agents", "get", "audit_agent")
    assert missing.code == 1 and missing.err.startswith("error: NOT_FOUND: ")

    exported = await agentctl(server, "agents", "export")
    assert set(yaml.safe_load(exported.out)["agents"]) == DEMO_AGENTS


async def test_import_fills_a_new_data_dir(start: StartServer, tmp_path: Path) -> None:
    empty = await start(data_dir=tmp_path / "empty", defaults_file=tmp_path / "none.yaml")
    assert len(empty.registry) == 0
    imported = await agentctl(empty, "agents", "import", "-f", str(DEFAULTS_FILE))
    assert imported.code == 0, imported.err
    assert {agent.name for agent in empty.registry.agents()} == DEMO_AGENTS


async def test_bad_files_and_command_lines_fail_clearly(server: RegistryServer, tmp_path: Path) -> None:
    absent = await agentctl(server, "agents", "register", "-f", str(tmp_path / "absent.yaml"))
    assert absent.code == 1 and "cannot read" in absent.err
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [1, 2")
    assert (await agentctl(server, "agents", "import", "-f", str(broken))).code == 1
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml.safe_dump({"name": "Bad Name", "factory": {"module": "m", "function": "f"}}))
    refused = await agentctl(server, "agents", "register", "-f", str(invalid))
    assert refused.code == 1 and "INVALID_ARGUMENT" in refused.err
    usage = await agentctl(server, "agents", "frobnicate")
    assert usage.code == 2


async def test_route_sessions_and_health(server: RegistryServer) -> None:
    decision = await agentctl(server, "route", "show my tickets")
    assert decision.code == 0 and "-> tickets_agent" in decision.out
    turn = await agentctl(server, "route", "show my tickets", "--invoke", "--user", "alice")
    assert turn.code == 0 and "You have 3 tickets" in turn.out
    session_id = turn.out.rsplit("session: ", 1)[1].split()[0]

    listed = await agentctl(server, "-o", "json", "sessions", "list", "--user", "alice")
    assert [s["session_id"] for s in json.loads(listed.out)] == [session_id]
    shown = await agentctl(server, "sessions", "get", session_id)
    assert shown.code == 0 and "show my tickets" in shown.out
    exported = await agentctl(server, "sessions", "export", session_id)
    assert json.loads(exported.out)["session"]["session_id"] == session_id
    purged = await agentctl(server, "-o", "json", "sessions", "purge")
    assert json.loads(purged.out) == {"purged": 0}
    missing = await agentctl(server, "sessions", "get", "no-such-session")
    assert missing.code == 1 and "NOT_FOUND" in missing.err

    health = await agentctl(server, "health")
    assert health.code == 0 and "SERVING" in health.out


async def test_an_unreachable_server_exits_non_zero(tmp_path: Path) -> None:
    result = await asyncio.to_thread(_run, ["--target", "127.0.0.1:1", "--timeout", "2", "agents", "list"])
    # UNAVAILABLE is retried with backoff, so the deadline may run out first.
    assert result.code == 1 and result.err.startswith(("error: UNAVAILABLE: ", "error: DEADLINE_EXCEEDED: "))


@pytest.mark.parametrize("output", ["json", "yaml"])
async def test_machine_readable_output(server: RegistryServer, output: str) -> None:
    result = await agentctl(server, "-o", output, "agents", "get", "tickets_agent")
    document = json.loads(result.out) if output == "json" else yaml.safe_load(result.out)
    assert document["name"] == "tickets_agent" and document["state"] == "AVAILABLE"


def _readme_cases(tmp_path: Path) -> Path:
    """The README's example cases file, written out as a user would copy it."""
    path = tmp_path / "cases.yaml"
    path.write_text(readme_block("yaml", "- {query: show my tickets"))
    return path


async def test_routing_eval_prints_the_report(server: RegistryServer, tmp_path: Path) -> None:
    cases = _readme_cases(tmp_path)
    table = await agentctl(server, "routing", "eval", str(cases))
    assert table.code == 0, table.err
    figures = dict(line.split(None, 1) for line in table.out.splitlines() if line)
    assert figures["CASES"] == "3" and figures["OUT_OF_SCOPE_CASES"] == "1"
    assert figures["EXACT_ACCURACY"] == "1.0" and figures["MISSES"] == "0"

    with cases.open("a") as file:
        file.write("- {query: show my tickets, expected: [finops_agent]}\n")  # labelled wrongly on purpose
    missed = await agentctl(server, "routing", "eval", str(cases))
    assert missed.code == 0, missed.err
    header, row = missed.out.split("\n\n", 1)[1].splitlines()
    assert header.split() == ["QUERY", "EXPECTED", "SELECTED", "CANDIDATES"]
    assert row.startswith("show my tickets  finops_agent  tickets_agent  tickets_agent:")

    report = json.loads((await agentctl(server, "-o", "json", "routing", "eval", str(cases))).out)
    assert report["cases"] == 4 and report["misses"] == 1 and report["exact_accuracy"] == 0.75
    assert report["first_misses"][0]["selected"] == ["tickets_agent"]
    as_yaml = await agentctl(server, "-o", "yaml", "routing", "eval", str(cases), "--max-misses", "1")
    assert yaml.safe_load(as_yaml.out)["first_misses"][0]["expected"] == ["finops_agent"]


async def test_routing_eval_failures_exit_non_zero(server: RegistryServer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- {expected: [tickets_agent]}\n")
    malformed = await agentctl(server, "routing", "eval", str(broken))
    assert malformed.code == 1 and "case 0 needs a non-empty 'query'" in malformed.err
    absent = await agentctl(server, "routing", "eval", str(tmp_path / "absent.yaml"))
    assert absent.code == 1 and "cannot read the cases file" in absent.err
    broken.write_text("- {query: hi, expected: [Not A Name]}\n")
    refused = await agentctl(server, "routing", "eval", str(broken))
    assert refused.code == 1 and refused.err.startswith("error: INVALID_ARGUMENT: ")
    usage = await agentctl(server, "routing", "eval", str(broken), "--max-misses", "-1")
    assert usage.code == 2 and "--max-misses" in usage.err


async def test_routing_eval_is_for_admins(start: StartServer, tmp_path: Path) -> None:
    token = "reader-" + "x" * 24
    digest = hashlib.sha256(token.encode()).hexdigest()
    auth = {"tokens": [{"name": "auditor", "sha256": digest, "roles": ["reader"]}]}
    (tmp_path / "auth.yaml").write_text(yaml.safe_dump(auth))
    secured = await start(auth_config_file=tmp_path / "auth.yaml")
    denied = await agentctl(secured, "--token", token, "routing", "eval", str(_readme_cases(tmp_path)))
    assert denied.code == 1 and denied.err.startswith("error: PERMISSION_DENIED: ")
