"""Bearer tokens from the auth config file: stored as SHA-256 only, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from registry_server.auth.principal import INTERNAL_ROLES, Principal, Role
from registry_server.domain.errors import UnauthenticatedError
from registry_server.sessions.validation import user_id_problem

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# The auth scheme is case-insensitive (RFC 7235 section 2.1): Bearer, bearer and BEARER are the same.
BEARER = re.compile(r"bearer +(\S+)", re.IGNORECASE)
# The roles a token of the auth config may have; internal ones belong to principals the server makes.
CONFIGURABLE_ROLES = [role.value for role in Role if role not in INTERNAL_ROLES]


class AuthConfigError(ValueError):
    """The auth config file is invalid; the server refuses to start with it."""


@dataclass(frozen=True)
class TokenEntry:
    """One token of the auth config: its holder and the SHA-256 of the secret."""

    sha256: str
    principal: Principal


class TokenAuthenticator:
    """Turns an `authorization: Bearer <token>` header into a Principal."""

    def __init__(self, entries: list[TokenEntry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, authorization: str | None) -> Principal:
        """The token's holder; raises UnauthenticatedError, saying no more than that a token is unknown."""
        if not authorization:
            raise UnauthenticatedError(
                "missing credentials: send the metadata 'authorization: Bearer <token>'"
            )
        match = BEARER.fullmatch(authorization.strip())
        if not match:
            raise UnauthenticatedError("malformed credentials: expected 'authorization: Bearer <token>'")
        digest = hashlib.sha256(match.group(1).encode()).hexdigest()
        found = None
        for (
            entry
        ) in self._entries:  # every entry is compared, so timing does not tell which one nearly matched
            if hmac.compare_digest(digest, entry.sha256):
                found = entry.principal
        if found is None:
            raise UnauthenticatedError("invalid token")
        return found


def load_auth_config(path: Path) -> TokenAuthenticator:
    """Reads `tokens: [{name, sha256, roles, user_id}]`; raises AuthConfigError naming what is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise AuthConfigError(f"cannot read the auth config {path}: {error}") from error
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, list) or not tokens:
        raise AuthConfigError(f"{path} must hold a non-empty list under 'tokens'")
    entries = [_entry(item, index, path) for index, item in enumerate(tokens)]
    for attribute in ("sha256", "name"):
        values = [getattr(e, attribute) if attribute == "sha256" else e.principal.name for e in entries]
        if len(set(values)) != len(values):
            raise AuthConfigError(f"{path}: two tokens have the same {attribute}")
    return TokenAuthenticator(entries)


def _entry(item: object, index: int, path: Path) -> TokenEntry:
    where = f"{path}: tokens[{index}]"
    if not isinstance(item, dict):
        raise AuthConfigError(f"{where} must be a mapping with name, sha256 and roles")
    name, digest, roles, user_id = (
        item.get("name"),
        item.get("sha256"),
        item.get("roles"),
        item.get("user_id", ""),
    )
    if not isinstance(name, str) or not name:
        raise AuthConfigError(f"{where}: 'name' is required")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise AuthConfigError(
            f"{where} ({name}): 'sha256' must be 64 lower-case hex digits, the SHA-256 of the token"
        )
    try:
        parsed = frozenset(Role(role) for role in roles) if isinstance(roles, list) and roles else None
    except ValueError:
        parsed = None
    if not parsed or parsed & INTERNAL_ROLES:
        raise AuthConfigError(f"{where} ({name}): 'roles' must list some of {CONFIGURABLE_ROLES}")
    if Role.USER in parsed:
        problem = user_id_problem(user_id) if isinstance(user_id, str) else "must be a string"
        if problem:
            raise AuthConfigError(f"{where} ({name}): the user role needs a 'user_id' that {problem}")
    return TokenEntry(digest, Principal(name, parsed, user_id if isinstance(user_id, str) else ""))
