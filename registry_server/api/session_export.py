"""ExportSession: a session as JSON, page by page so that no response exceeds the message limit.

Each page holds the session and a part of one of its lists (events, then history, then invocations).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from registry_server.auth.isolation import check_visible
from registry_server.domain.errors import ValidationError
from registry_server.domain.paging import encode_page_token, parse_page_request
from registry_server.domain.session import EventFilter, SessionKey
from registry_server.sessions.event_codec import event_from_record
from registry_server.sessions.paging import PAGE_MAX_BYTES
from registry_server.sessions.store import SessionStore

EXPORT_LISTS = ("events", "history", "invocations")
EXPORT_PAGE = 5000


async def export_page(store: SessionStore, key: SessionKey, page_token: str) -> tuple[str, str]:
    """(JSON document of one page, token of the next page or "")."""
    filters = {"export": key.session_id, "app": key.app_name, "user": key.user_id}
    list_index, after = _cursor(parse_page_request(1, page_token, filters).cursor)
    session = check_visible(await store.get_session(key, with_state=True))
    lists: dict[str, list[Any]] = {name: [] for name in EXPORT_LISTS}
    name = EXPORT_LISTS[list_index]
    if name == "events":
        _, page = await store.read_session(key, EventFilter(), after + 1, EXPORT_PAGE, PAGE_MAX_BYTES)
        items: list[Any] = [event_from_record(record) for record in page.events]
        more = page.next_after_seq is not None
    elif name == "history":
        items = await store.list_history(key, after, EXPORT_PAGE, PAGE_MAX_BYTES)
        more = bool(items) and items[-1].seq < session.history_count
    else:
        items = await store.list_invocations(key, after, EXPORT_PAGE, PAGE_MAX_BYTES)
        more = bool(items) and items[-1].seq < session.invocation_count
    lists[name] = [_jsonable(asdict(item)) for item in items]
    document = {"session": _jsonable(asdict(session)), **lists}
    next_cursor = [list_index, items[-1].seq] if more else [list_index + 1, 0]
    token = encode_page_token(next_cursor, filters) if next_cursor[0] < len(EXPORT_LISTS) else ""
    return json.dumps(document, indent=2, ensure_ascii=False), token


def _cursor(cursor: Any) -> tuple[int, int]:
    if cursor is None:
        return 0, 0
    if (
        isinstance(cursor, list)
        and len(cursor) == 2
        and all(isinstance(value, int) and not isinstance(value, bool) for value in cursor)
        and 0 <= cursor[0] < len(EXPORT_LISTS)
        and 0 <= cursor[1] < 2**62
    ):
        return cursor[0], cursor[1]
    raise ValidationError.single("page_token", "is not a token of ExportSession")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "value"):  # enums
        return value.value
    return value
