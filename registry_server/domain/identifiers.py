"""What every name, tag and id obeys: its pattern matches all of it, and it holds no control character."""

from __future__ import annotations

import re

# C0, DEL, C1 and the Unicode line and paragraph separators: each can end or forge a line in a log or a file.
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_character(text: str) -> bool:
    """Whether `text` holds a C0 or C1 control character, DEL, or a Unicode line or paragraph separator."""
    return _CONTROL_CHARACTER.search(text) is not None


def matches_whole(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` matches all of `text` (a `$` would also let a trailing newline through)."""
    return pattern.fullmatch(text) is not None and not has_control_character(text)
