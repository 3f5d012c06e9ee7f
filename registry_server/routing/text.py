"""Normalises queries and capability terms the same way: lower case, no punctuation, singular words."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
# Words whose trailing "s" is not a plural; folding them would only blur the match.
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ous")


@lru_cache(maxsize=65536)
def fold_plural(word: str) -> str:
    """The singular of an English plural, by rule: tickets -> ticket, policies -> policy, boxes -> box."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL_ENDINGS):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1]


def tokens(text: str) -> tuple[str, ...]:
    """The normalised words of a text; underscores and hyphens separate words like spaces do."""
    return tuple(fold_plural(word) for word in _WORD.findall(text.lower().replace("_", " ")))
