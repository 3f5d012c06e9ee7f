"""Request text made safe for a log line: control characters escaped, length capped."""

from __future__ import annotations

import re

MAX_LOGGED_CHARS = 200
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything that could end a log line
# or move the cursor of a terminal that displays it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def escape_controls(text: str) -> str:
    """`text` with every control character written as its backslash escape."""
    return _CONTROL.sub(_escape, text)


def loggable(value: object, limit: int = MAX_LOGGED_CHARS) -> str:
    """`value` as one bounded log field: escaped, and cut to `limit` characters with the original length."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}...({len(text)} chars)"
    return escape_controls(text)
