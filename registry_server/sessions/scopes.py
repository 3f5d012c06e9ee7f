"""State in three scopes: a delta's `app:` and `user:` keys go to those scopes, `temp:` keys nowhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_server.domain.session import APP_PREFIX, TEMP_PREFIX, USER_PREFIX


@dataclass(frozen=True)
class ScopedDelta:
    """A state delta split by scope, prefixes removed; temp keys dropped."""

    app: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.app or self.user or self.session)


def without_temp(delta: Mapping[str, Any]) -> dict[str, Any]:
    """The delta without its `temp:` keys, which are never stored."""
    return {key: value for key, value in delta.items() if not key.startswith(TEMP_PREFIX)}


def split_delta(delta: Mapping[str, Any]) -> ScopedDelta:
    """Splits a state delta into its app, user and session parts."""
    scoped = ScopedDelta()
    for key, value in delta.items():
        if key.startswith(APP_PREFIX):
            scoped.app[key.removeprefix(APP_PREFIX)] = value
        elif key.startswith(USER_PREFIX):
            scoped.user[key.removeprefix(USER_PREFIX)] = value
        elif not key.startswith(TEMP_PREFIX):
            scoped.session[key] = value
    return scoped


def merge_scopes(
    session: Mapping[str, Any], user: Mapping[str, Any], app: Mapping[str, Any]
) -> dict[str, Any]:
    """The state a session sees: its own keys, then `user:` and `app:` keys."""
    merged = dict(session)
    merged.update({USER_PREFIX + key: value for key, value in user.items()})
    merged.update({APP_PREFIX + key: value for key, value in app.items()})
    return merged
