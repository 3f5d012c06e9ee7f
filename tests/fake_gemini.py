"""A fake Gemini API on loopback: answers generateContent like the real service, or fails on purpose."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGemini:
    """What the fake answers next (`mode`), and every request it received."""

    mode: str = "good"  # good | malformed | out_of_range | empty | no_indices | 429 | 500 | hang
    indices: list[int] = field(default_factory=lambda: [0])
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def prompts(self) -> list[str]:
        return [r["body"]["contents"][0]["parts"][0]["text"] for r in self.requests]

    def start(self) -> FakeGemini:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {"path": self.path, "body": body, "key": self.headers.get("x-goog-api-key")}
                )
                status, payload = fake.answer()
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self) -> tuple[int, dict[str, Any]]:
        if self.mode == "hang":
            self.release.wait(60)  # held until the test ends: the client's deadline must fire first
            return 500, _error(500, "INTERNAL")
        if self.mode == "429":
            return 429, _error(429, "RESOURCE_EXHAUSTED")
        if self.mode == "500":
            return 500, _error(500, "INTERNAL")
        text = {
            "good": json.dumps(
                {
                    "analysis": "the user wants these",
                    "selected_agent_indices": self.indices,
                    "reasoning": "they cover the request",
                }
            ),
            "out_of_range": json.dumps({"analysis": "a", "selected_agent_indices": [0, 7], "reasoning": "r"}),
            "empty": json.dumps({"analysis": "a", "selected_agent_indices": [], "reasoning": "nothing fits"}),
            "no_indices": json.dumps({"analysis": "a", "reasoning": "r"}),
            "malformed": "Sure! I think the tickets agent {not json",
        }[self.mode]
        return 200, {
            "candidates": [
                {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        }


def _error(code: int, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"fake {status}", "status": status}}
