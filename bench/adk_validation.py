"""What any ADK session service pays to return 1,000 events: pydantic making the ADK Session from JSON,
against ADK's SqliteSessionService's whole get_session, in one process, taken in turns, as CPU milliseconds
(which other work on this shared machine hardly moves). Prints one JSON document.

`python -m bench.adk_validation` (under a minute).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.adk.events.event import Event
from google.adk.sessions.session import Session
from google.adk.sessions.sqlite_session_service import SqliteSessionService

from bench.sessions_adk import APP, event

ROUNDS = 25


def cpu_ms(work: Callable[[], Any]) -> float:
    """CPU milliseconds of this process spent on `work()`."""
    started = time.process_time()
    work()
    return (time.process_time() - started) * 1000


async def measure(directory: Path) -> dict[str, Any]:
    """Median CPU milliseconds of each way of making the session, taken in turns."""
    service = SqliteSessionService(str(directory / "adk.db"))
    session = await service.create_session(app_name=APP, user_id="reader")
    for number in range(1000):
        await service.append_event(session, event(number))
    read = await service.get_session(app_name=APP, user_id="reader", session_id=session.id)
    assert read is not None and len(read.events) == 1000
    document = read.model_dump_json(exclude_none=True)
    event_documents = [item.model_dump_json(exclude_none=True) for item in read.events]

    samples: dict[str, list[float]] = {"session_json": [], "per_event_json": [], "adk_get_session": []}
    for _ in range(ROUNDS):
        samples["session_json"].append(cpu_ms(lambda: Session.model_validate_json(document)))
        samples["per_event_json"].append(
            cpu_ms(lambda: [Event.model_validate_json(text) for text in event_documents])
        )
        started = time.process_time()
        await service.get_session(app_name=APP, user_id="reader", session_id=session.id)
        samples["adk_get_session"].append((time.process_time() - started) * 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "pydantic_session_from_one_json_cpu_ms": round(medians["session_json"], 1),
        "pydantic_events_one_by_one_cpu_ms": round(medians["per_event_json"], 1),
        "adk_sqlite_get_session_cpu_ms": round(medians["adk_get_session"], 1),
        "pydantic_ratio_to_adk_get_session": round(medians["session_json"] / medians["adk_get_session"], 3),
    }


def main() -> None:
    """Measures in a temporary directory and prints JSON."""
    with tempfile.TemporaryDirectory(prefix="agent-registry-adk-validation-") as temporary:
        result = asyncio.run(measure(Path(temporary)))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
