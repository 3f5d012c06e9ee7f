"""`agent-registry migrate` carries the embedded session store into PostgreSQL, ids and seqs intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_registry_client import Role, RouterClient, SessionClient
from agent_registry_client.session_models import SessionEvent
from registry_server.migrate_sessions import SessionMigrationError, migrate_sessions
from tests.conftest import StartServer
from tests.test_migrate import run_migrate

APP = "chat"


async def fill_sessions(target: str) -> tuple[str, str]:
    """A routed turn (history, invocations, last agent) and an ADK-style session with state and events."""
    async with RouterClient(target) as router:
        turn = [event async for event in router.route_and_invoke("show my tickets", user_id="alice")]
    turn_session = turn[-1].session_id  # type: ignore[union-attr]
    async with SessionClient(target) as sessions:
        state = {"step": 1, "user:lang": "en", "app:theme": "dark"}
        created = await sessions.create_session("bob", app_name=APP, session_id="s-1", state=state)
        for number in range(3):
            event = SessionEvent(
                event_id=f"e{number}", author="agent", timestamp=1000.0 + number, state_delta={"step": number}
            )
            await sessions.append_event(
                created.session_id, event, app_name=APP, user_id="bob", request_id=f"event-{number}"
            )
        await sessions.append_history(turn_session, Role.USER, "thanks", request_id="history-1")
    return turn_session, created.session_id


async def snapshot(target: str, turn_session: str, adk_session: str) -> tuple[object, ...]:
    async with SessionClient(target) as sessions:
        return (
            await sessions.get_session(turn_session),
            await sessions.get_session_events(adk_session, app_name=APP, user_id="bob"),
            await sessions.get_user_state("bob", app_name=APP),
        )


async def test_sessions_are_copied_with_ids_seqs_state_and_request_ids(
    start: StartServer, data_dir: Path, postgres_url: str, tmp_path: Path
) -> None:
    embedded = await start()
    target = f"127.0.0.1:{embedded.port}"
    turn_session, adk_session = await fill_sessions(target)
    before = await snapshot(target, turn_session, adk_session)
    await embedded.stop(0)

    code, out, err = await run_migrate("--from-data-dir", str(data_dir), "--database-url", postgres_url)
    assert code == 0, err
    assert "sessions: 2 sessions copied, with 3 events, 3 history entries, 1 invocations" in out

    on_postgres = await start(data_dir=tmp_path / "pg-node", database_url=postgres_url)
    target = f"127.0.0.1:{on_postgres.port}"
    after = await snapshot(target, turn_session, adk_session)
    assert after == before
    turn, adk, user_state = after
    assert turn.last_agent_called == "tickets_agent" and [e.seq for e in adk.events] == [1, 2, 3]  # type: ignore[attr-defined]
    assert adk.state == {"step": 2, "user:lang": "en", "app:theme": "dark"} and user_state == {"lang": "en"}  # type: ignore[attr-defined]

    async with SessionClient(target) as sessions:
        retried = await sessions.append_event(
            adk_session,
            SessionEvent(event_id="e2", author="agent", timestamp=1002.0, state_delta={"step": 2}),
            app_name=APP,
            user_id="bob",
            request_id="event-2",
        )
        assert retried.event.seq == 3, "a request id recorded before the move still answers its first result"
        fresh = await sessions.append_event(
            adk_session,
            SessionEvent(event_id="e3", author="agent", timestamp=1003.0),
            app_name=APP,
            user_id="bob",
        )
        assert fresh.event.seq == 4 and fresh.revision == adk.revision + 1  # type: ignore[attr-defined]
        again = await sessions.append_history(turn_session, Role.USER, "thanks", request_id="history-1")
        assert again.seq == 3 and (await sessions.get_session(turn_session)).history_count == 3
        new = await sessions.create_session("carol")
        assert new.session_id not in {turn_session, adk_session}


async def test_a_database_holding_sessions_is_refused_and_left_alone(
    start: StartServer, data_dir: Path, postgres_url: str
) -> None:
    embedded = await start()
    await fill_sessions(f"127.0.0.1:{embedded.port}")
    await embedded.stop(0)
    assert "2 sessions copied" in await migrate_sessions(data_dir, postgres_url)
    with pytest.raises(SessionMigrationError, match="already holds sessions data"):
        await migrate_sessions(data_dir, postgres_url)


async def test_a_data_dir_without_sessions_copies_nothing(tmp_path: Path, postgres_url: str) -> None:
    assert "nothing to copy" in await migrate_sessions(tmp_path, postgres_url)
