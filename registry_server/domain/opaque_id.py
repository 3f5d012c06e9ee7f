"""Random ids and tokens that are safe to paste into a command line."""

from __future__ import annotations

import secrets


def new_opaque_id(nbytes: int) -> str:
    """Returns a random URL-safe id of `nbytes` random bytes that never starts with '-'."""
    # One in 64 URL-safe tokens starts with '-', which argparse (agentctl, jarvis) reads as an option.
    while True:
        candidate = secrets.token_urlsafe(nbytes)
        if not candidate.startswith("-"):
            return candidate
