"""Server-made ids and tokens can be pasted after a command-line option."""

from __future__ import annotations

import secrets

import pytest

from registry_server.domain.opaque_id import new_opaque_id


def test_an_id_never_starts_with_a_dash() -> None:
    ids = [new_opaque_id(18) for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)


def test_a_dash_first_draw_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["-starts-like-an-option", "plain"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(draws))
    assert new_opaque_id(18) == "plain"
