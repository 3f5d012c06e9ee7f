"""The agent workers' credential: minted at start-up, kept in memory, accepted only on their own socket."""

from __future__ import annotations

import hashlib
import secrets

from registry_server.auth.principal import Principal, Role
from registry_server.auth.tokens import TokenAuthenticator, TokenEntry

AGENT_WORKERS = Principal("agent-workers", frozenset({Role.AGENT_WORKER}))


def mint_worker_credential() -> tuple[str, TokenAuthenticator]:
    """A new random token for the agent workers, and an authenticator that accepts that token alone."""
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    return token, TokenAuthenticator([TokenEntry(digest, AGENT_WORKERS)])
