"""An ADK agent's turn with its session kept in the registry, against the same turn with ADK's in-memory
session service, in one run. Prints one JSON document: median milliseconds per turn and their ratio.

`python -m bench.adk_turns` (under a minute). The agent is an LlmAgent on a fake model that answers at once,
so the figures are the session cost of a turn, not a model's; fsync p50 on the data dir is the reference.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from bench.references import fsync_p50_ms
from registry_server.agents.adk_runtime import AdkAgentRunner
from registry_server.agents.session_access import SessionAccess
from registry_server.config import ServerConfig
from registry_server.server import start_server

TURNS_PER_SESSION = 10
SESSIONS = 20


class InstantLlm(BaseLlm):
    """A model that answers "ok" at once."""

    model: str = "instant"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text="ok")]),
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=1, candidates_token_count=1, total_token_count=2
            ),
        )


async def turn_times(access: SessionAccess | None) -> list[float]:
    """Milliseconds of each turn: SESSIONS sessions of TURNS_PER_SESSION turns each."""
    runner = AdkAgentRunner(LlmAgent(name="bench", model=InstantLlm(), output_key="last"), access)
    samples = []
    for session in range(SESSIONS):
        context = {"agent_name": "bench_agent", "user_id": "alice", "session_id": f"bench{session:04d}"}
        for turn in range(TURNS_PER_SESSION):
            started = time.perf_counter()
            async for _ in runner.run(f"question {turn}", context):
                pass
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure() -> dict[str, object]:
    """Both session services' turn times, and their ratio."""
    with tempfile.TemporaryDirectory() as data_dir:
        config = ServerConfig(host="127.0.0.1", port=0, data_dir=Path(data_dir), agent_workers=0)
        server = await start_server(config)
        try:
            assert server.agent_sessions is not None
            await turn_times(None)  # warm-up: imports, pydantic models
            in_memory = statistics.median(await turn_times(None))
            registry = statistics.median(await turn_times(server.agent_sessions.access))
        finally:
            await server.stop(0)
        fsync = fsync_p50_ms(Path(data_dir))
    return {
        "fsync_ms_p50": round(fsync, 3),
        "turns": SESSIONS * TURNS_PER_SESSION,
        "in_memory_turn_ms_p50": round(in_memory, 2),
        "registry_turn_ms_p50": round(registry, 2),
        "registry_to_in_memory": round(registry / in_memory, 2),
        # A turn stores two events (the user's message, the answer), each durable before the turn goes on.
        "registry_extra_ms_minus_two_fsyncs": round(registry - in_memory - 2 * fsync, 2),
    }


def main() -> None:
    """Prints the figures as JSON."""
    print(json.dumps(asyncio.run(measure()), indent=2))


if __name__ == "__main__":
    main()
