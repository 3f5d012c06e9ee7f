"""Paging of a session's events, history and invocations: byte budgets and where a page starts."""

from __future__ import annotations

# Pages stop once they hold this many bytes of content, so a response stays under gRPC's 4 MiB limit.
PAGE_MAX_BYTES = 3 * 1024 * 1024
ROW_OVERHEAD_BYTES = 64


def first_seq(event_count: int, num_recent: int | None) -> int:
    """The seq of the first event the filter keeps (seqs run 1..event_count with no gaps)."""
    if num_recent is None:
        return 1
    return event_count + 1 - num_recent if num_recent else event_count + 1
