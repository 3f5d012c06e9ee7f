"""Stage 2 with Gemini: chooses among the candidates with a JSON response schema, under a deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from registry_server.domain.agent import RegisteredAgent
from registry_server.domain.routing import Candidate, Selection, SessionContext

RESPONSE_SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "analysis": {"type": "STRING", "description": "What the user is asking for."},
        "selected_agent_indices": {
            "type": "ARRAY",
            "items": {"type": "INTEGER"},
            "description": (
                "Indices of every agent needed to answer, from the candidate list; empty when none fits."
            ),
        },
        "reasoning": {"type": "STRING", "description": "Why these agents."},
    },
    "required": ["analysis", "selected_agent_indices", "reasoning"],
}
LAST_RESPONSE_EXCERPT_CHARS = 300
# Sample requests shown per candidate, each cut to this many characters.
EXAMPLES_SHOWN = 3
EXAMPLE_CHARS = 160


class Stage2Error(Exception):
    """Gemini gave no usable selection; the message says why, for the routing decision."""


class GeminiSelector:
    """Asks Gemini which candidates should answer; raises Stage2Error on any failure."""

    def __init__(self, api_key: str, model: str, timeout_s: float, base_url: str = "") -> None:
        # Imported here: google-genai takes a third of a second to import, and only Gemini users need it.
        from google import genai
        from google.genai import types

        self._types = types
        self._model = model
        self._timeout_s = timeout_s
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url or None,
                timeout=int(timeout_s * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),  # the deadline is short: fall back instead
            ),
        )

    async def select(
        self,
        query: str,
        candidates: Sequence[Candidate],
        agents: Sequence[RegisteredAgent],
        context: SessionContext,
    ) -> Selection:
        """Gemini's choice among `candidates` (whose agents are `agents`, in the same order)."""
        from google.genai import errors as genai_errors

        prompt = build_prompt(query, candidates, agents, context)
        config = self._types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=RESPONSE_SCHEMA, temperature=0.0
        )
        try:
            response = await asyncio.wait_for(
                self._client.aio.models.generate_content(model=self._model, contents=prompt, config=config),
                self._timeout_s,
            )
        except TimeoutError:
            raise Stage2Error(f"Gemini did not answer within {self._timeout_s:g} s") from None
        except genai_errors.APIError as error:
            raise Stage2Error(f"Gemini answered HTTP {error.code}: {error.status or error.message}") from None
        except Exception as error:  # transport errors of httpx and the like
            raise Stage2Error(f"Gemini could not be reached: {type(error).__name__}: {error}") from None
        return parse_selection(response.text or "", len(candidates))


def build_prompt(
    query: str, candidates: Sequence[Candidate], agents: Sequence[RegisteredAgent], context: SessionContext
) -> str:
    """The instructions, the candidates with their capabilities, the conversation so far and the query."""
    lines = [
        "You route a user's request to the specialised agents that can answer it.",
        "Select ALL agents needed when the request spans several subjects, and only those.",
        "A follow-up that names no subject usually continues with the previous agent.",
        "If no candidate can handle the request, select none (an empty list): do not guess.",
        "",
        "Candidates:",
    ]
    for index, (candidate, agent) in enumerate(zip(candidates, agents, strict=True)):
        capabilities = agent.spec.capabilities
        terms = "; ".join(
            f"{list_name}: {', '.join(getattr(capabilities, list_name)) or '-'}"
            for list_name in ("domains", "entities", "operations", "keywords")
        )
        description = agent.spec.description or "no description"
        lines.append(f"{index}: {agent.name} - {description} ({terms}; stage-1 score {candidate.score:.2f})")
        examples = [json.dumps(e[:EXAMPLE_CHARS]) for e in capabilities.examples[:EXAMPLES_SHOWN]]
        if examples:
            lines.append(f"   e.g. {'; '.join(examples)}")
    if context.last_agent or context.last_query:
        excerpt = context.last_response[:LAST_RESPONSE_EXCERPT_CHARS]
        lines += [
            "",
            "Conversation so far:",
            f"Previous request: {context.last_query!r}",
            f"Agent that answered it: {context.last_agent}",
            f"Start of its answer: {excerpt!r}",
        ]
    lines += ["", f"Request: {query!r}"]
    return "\n".join(lines)


def parse_selection(text: str, candidate_count: int) -> Selection:
    """Validates Gemini's JSON answer (an empty list abstains); raises Stage2Error if it is malformed."""
    try:
        answer: Any = json.loads(text)
    except ValueError:
        raise Stage2Error(f"Gemini's answer is not JSON: {text[:80]!r}") from None
    indices = answer.get("selected_agent_indices") if isinstance(answer, dict) else None
    if not isinstance(indices, list) or not all(type(i) is int for i in indices):
        raise Stage2Error("Gemini's answer has no list of selected_agent_indices")
    out_of_range = [i for i in indices if not 0 <= i < candidate_count]
    if out_of_range:
        raise Stage2Error(f"Gemini selected indices {out_of_range} outside 0-{candidate_count - 1}")
    return Selection(
        tuple(dict.fromkeys(indices)),
        analysis=str(answer.get("analysis", "")),
        reasoning=str(answer.get("reasoning", "")),
    )
