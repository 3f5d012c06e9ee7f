"""The cap on one agent's answer in one turn: what fits is kept, the rest is cut with a note."""

from __future__ import annotations

DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024
# A worker keeps a little more than the cap, so the server still sees that the answer went over it.
WORKER_MARGIN_BYTES = 4


class OutputCap:
    """Counts the UTF-8 bytes of an answer's chunks and cuts the chunk that crosses the limit."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._used = 0
        self.full = False

    def take(self, chunk: str) -> str:
        """The part of `chunk` that fits; after the first cut, `full` is True and nothing more fits."""
        if self.full:
            return ""
        encoded = chunk.encode("utf-8", errors="replace")
        room = self.limit_bytes - self._used
        if len(encoded) <= room:
            self._used += len(encoded)
            return chunk
        self.full = True
        self._used = self.limit_bytes
        return encoded[:room].decode("utf-8", errors="ignore")

    @property
    def note(self) -> str:
        """What replaces the part of an answer that was cut."""
        return f"\n\n[answer cut: it exceeded the {self.limit_bytes:,}-byte limit per agent per turn]"
