"""The fence around agent code: module allowlist, worker processes, BaseException, output caps."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agent_registry_client import (
    Agent,
    AgentState,
    Factory,
    FailedPrecondition,
    NotFound,
    RegistryClient,
    RouterClient,
    SessionClient,
)
from registry_server.agents.module_allowlist import ModuleAllowlist
from registry_server.domain.agent import FactoryRef
from registry_server.domain.errors import FactoryError
from registry_server.server import RegistryServer
from tests.agent_turns import ask, register, result_of
from tests.conftest import StartServer
from tests.markers import wait_for_path
from tests.server_process import start_server_process
from tests.test_auth import secured, tokens  # noqa: F401 - fixtures: a server with tokens and roles

FENCE = "tests.fence_agents"


def test_allowlist_matches_whole_dotted_components() -> None:
    allowlist = ModuleAllowlist(["registry_server.demo_agents", "tests"])
    assert allowlist.allows("registry_server.demo_agents")
    assert allowlist.allows("registry_server.demo_agents.tickets")
    assert allowlist.allows("tests.fence_agents")
    assert not allowlist.allows("registry_server.demo_agents_evil")
    assert not allowlist.allows("registry_server")
    assert not allowlist.allows("testsuite")
    assert not allowlist.allows("os")
    assert not allowlist.allows("tests.fence_agents\n")
    assert not allowlist.allows("tests..x")
    with pytest.raises(FactoryError, match="outside the allowed agent modules"):
        allowlist.check(FactoryRef("registry_server.demo_agents_evil", "create"))


async def test_os_system_is_refused_before_any_import(client: RegistryClient, tmp_path: Path) -> None:
    witness = tmp_path / "pwned"
    factory = Factory("os", "system", {"command": f"touch {witness}"})
    with pytest.raises(FailedPrecondition, match="outside the allowed agent modules") as refused:
        await client.register_agent(Agent("shell_agent", factory))
    assert "--agent-modules" in str(refused.value)
    assert not witness.exists(), "the command ran"
    with pytest.raises(NotFound):
        await client.get_agent("shell_agent")
    lookalike = Factory("registry_server.demo_agents_evil", "create")
    with pytest.raises(FailedPrecondition, match="outside the allowed agent modules"):
        await client.register_agent(Agent("lookalike_agent", lookalike))


async def test_no_role_gets_past_the_allowlist(
    secured: RegistryServer,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """Not even an admin: registering, batch registering and updating to a foreign module all refuse it."""
    witness = tmp_path / "pwned"
    shell = Factory("os", "system", {"command": f"touch {witness}"})
    async with RegistryClient(f"127.0.0.1:{secured.port}", token=tokens["ops"]) as admin:
        with pytest.raises(FailedPrecondition, match="outside the allowed agent modules"):
            await admin.register_agent(Agent("shell_agent", shell))
        with pytest.raises(FailedPrecondition, match="outside the allowed agent modules"):
            await admin.batch_register_agents([Agent("shell_agent", shell)])
        with pytest.raises(FailedPrecondition, match="outside the allowed agent modules"):
            await admin.update_agent("tickets_agent", factory=shell)
        tickets = await admin.get_agent("tickets_agent")
    assert tickets.factory.module == "registry_server.demo_agents.tickets", (
        "the refused update changed nothing"
    )
    assert not witness.exists()


async def test_a_stored_agent_outside_the_allowlist_loads_unavailable(tmp_path: Path, data_dir: Path) -> None:
    """The defaults file is no way around the allowlist either: the agent is kept, unbuilt."""
    witness = tmp_path / "pwned"
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(
        "version: '1.0.0'\nagents:\n  shell_agent:\n    factory:\n      module: os\n"
        f"      function: system\n      kwargs: {{command: 'touch {witness}'}}\n"
    )
    server = await start_server_process(data_dir, defaults=defaults)
    try:
        async with RegistryClient(server.target) as client:
            agent = await client.get_agent("shell_agent")
        assert (
            agent.state is AgentState.UNAVAILABLE
            and "outside the allowed agent modules" in agent.state_message
        )
        assert not witness.exists()
    finally:
        await server.terminate()


async def test_the_allowlist_comes_from_the_command_line(data_dir: Path) -> None:
    server = await start_server_process(data_dir, "--agent-modules", "registry_server.demo_agents")
    try:
        async with RegistryClient(server.target) as client:
            with pytest.raises(
                FailedPrecondition, match=r"allowed agent modules \(registry_server.demo_agents\)"
            ):
                await client.register_agent(
                    Agent("echo_agent", Factory("tests.fake_agents", "create_echo_agent"))
                )
    finally:
        await server.terminate()


@pytest.mark.parametrize("workers", [1, 0])
async def test_system_exit_and_keyboard_interrupt_are_the_agents_failures(
    start: StartServer, workers: int
) -> None:
    server = await start(agent_workers=workers)
    await register(server, "exit_agent", Factory(FENCE, "create_exiting_agent"), "exiting")
    await register(server, "interrupt_agent", Factory(FENCE, "create_interrupting_agent"), "interrupting")
    await register(server, "echo_agent", Factory("tests.fake_agents", "create_echo_agent"), "echoing")
    events = await ask(server, "exiting and interrupting")
    assert result_of(events, "exit_agent").error == "SystemExit: 3"
    assert result_of(events, "interrupt_agent").error == "KeyboardInterrupt"
    assert await _health(server) == health_pb2.HealthCheckResponse.SERVING
    assert result_of(await ask(server, "echoing"), "echo_agent").success


@pytest.mark.parametrize("workers", [1, 0])
async def test_an_agent_that_ignores_generator_exit_is_stopped_and_fails(
    start: StartServer, workers: int
) -> None:
    server = await start(agent_workers=workers, max_agent_output_bytes=4096)
    await register(server, "stubborn_agent", Factory(FENCE, "create_stubborn_generator"), "stubborn")
    result = result_of(await ask(server, "stubborn"), "stubborn_agent")
    # Stopped at the cap either way: where the generator runs in the server's process its refusal to stop is
    # its failure; from a worker, the server has already cut the answer and cancelled the call.
    misuse = "RuntimeError: async generator ignored GeneratorExit"
    assert result.error == misuse if workers == 0 else result.response.endswith("per agent per turn]")
    assert await _health(server) == health_pb2.HealthCheckResponse.SERVING


async def test_a_factory_raising_system_exit_is_refused_and_nothing_stored(client: RegistryClient) -> None:
    with pytest.raises(FailedPrecondition, match="raised SystemExit: the factory exits"):
        await client.register_agent(Agent("exit_agent", Factory(FENCE, "create_exiting_factory")))
    with pytest.raises(NotFound):
        await client.get_agent("exit_agent")


async def test_an_unrelated_run_method_is_refused_at_registration(client: RegistryClient) -> None:
    with pytest.raises(FailedPrecondition, match=r"does not accept \(query, context\)"):
        await client.register_agent(Agent("odd_agent", Factory(FENCE, "create_unrelated_run")))


async def test_rpcs_are_answered_while_an_agent_blocks(server: RegistryServer, tmp_path: Path) -> None:
    marker = tmp_path / "block"
    await register(
        server, "block_agent", Factory(FENCE, "create_blocking_agent", {"marker": str(marker)}), "blocking"
    )
    turn = asyncio.ensure_future(ask(server, "blocking"))
    await wait_for_path(marker.with_suffix(".started"))
    async with (
        RegistryClient(f"127.0.0.1:{server.port}") as client,
        SessionClient(f"127.0.0.1:{server.port}") as sessions,
    ):
        assert (await client.get_agent("tickets_agent")).name == "tickets_agent"
        assert len((await client.list_agents()).agents) >= 4
        await sessions.create_session("bob")
        assert await _health(server) == health_pb2.HealthCheckResponse.SERVING
        async with RouterClient(f"127.0.0.1:{server.port}") as router:
            decision = await router.route("show my tickets")
        assert decision.selected_agents == ("tickets_agent",)
    assert not turn.done(), "the blocking turn ends only once released: everything above ran during it"
    (marker.with_suffix(".release")).touch()
    assert result_of(await turn, "block_agent").response == "unblocked"


async def test_rpcs_are_answered_while_a_synchronous_factory_blocks(
    server: RegistryServer, tmp_path: Path
) -> None:
    marker = tmp_path / "factory"
    factory = Factory(FENCE, "create_blocking_factory", {"marker": str(marker)})
    registering = asyncio.ensure_future(register(server, "slow_agent", factory, "slow"))
    await wait_for_path(marker.with_suffix(".started"))
    async with RegistryClient(f"127.0.0.1:{server.port}") as client:
        assert (await client.get_agent("tickets_agent")).name == "tickets_agent"
    assert await _health(server) == health_pb2.HealthCheckResponse.SERVING
    assert not registering.done()
    (marker.with_suffix(".release")).touch()
    assert (await registering).name == "slow_agent"


@pytest.mark.parametrize("workers", [1, 0])
async def test_a_five_megabyte_answer_is_capped(start: StartServer, workers: int) -> None:
    server = await start(agent_workers=workers)
    await register(server, "huge_agent", Factory(FENCE, "create_huge_agent", {"size": 5_000_000}), "huge")
    events = await ask(server, "huge")
    result = result_of(events, "huge_agent")
    assert result.success
    kept, note = result.response.split("\n\n", 1)
    assert kept == "x" * 256 * 1024
    assert note == "[answer cut: it exceeded the 262,144-byte limit per agent per turn]"
    async with SessionClient(f"127.0.0.1:{server.port}") as sessions:
        session = await sessions.get_session(events[0].session_id)  # type: ignore[union-attr]
    assert session.invocations[0].response == result.response


async def test_the_cap_is_configurable(start: StartServer) -> None:
    server = await start(max_agent_output_bytes=2048)
    await register(server, "huge_agent", Factory(FENCE, "create_huge_agent", {"size": 10_000}), "huge")
    result = result_of(await ask(server, "huge"), "huge_agent")
    assert result.response.split("\n\n")[0] == "x" * 2048 and "2,048-byte limit" in result.response


async def test_error_text_is_class_and_message_cut_short(server: RegistryServer) -> None:
    await register(server, "error_agent", Factory(FENCE, "create_long_error_agent"), "erring")
    result = result_of(await ask(server, "erring"), "error_agent")
    assert not result.success
    assert result.error.startswith("ValueError: bad bad")
    assert len(result.error) <= 500 and "Traceback" not in result.error


async def test_a_killed_worker_fails_its_turn_only_and_the_next_turn_works(
    server: RegistryServer, tmp_path: Path
) -> None:
    marker = tmp_path / "victim"
    await register(server, "pid_agent", Factory(FENCE, "create_pid_agent", {"marker": str(marker)}), "pids")
    turn = asyncio.ensure_future(ask(server, "pids: wait"))
    await wait_for_path(marker.with_suffix(".pid"))
    pid = int(marker.with_suffix(".pid").read_text())
    assert pid != os.getpid(), "the agent runs in a worker process"
    os.kill(pid, signal.SIGKILL)
    failed = result_of(await turn, "pid_agent")
    assert not failed.success and "worker process stopped" in failed.error and "signal 9" in failed.error
    assert await _health(server) == health_pb2.HealthCheckResponse.SERVING
    answered = result_of(await ask(server, "pids"), "pid_agent")
    assert answered.success and answered.response.startswith("answered by process ")
    assert answered.response != f"answered by process {pid}", "a new worker answers"


async def _health(server: RegistryServer) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        return int(reply.status)
