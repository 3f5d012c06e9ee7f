"""Normalises queries and capability terms the same way: lower case, no punctuation, singular words."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")

# Words whose trailing "s" is not a plural; folding them would only blur the match.
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ous")
# Words ending in a plain "s" that are not plurals, or whose singular the rules below would get wrong.
_NOT_PLURAL = frozenset(
    {
        "news",
        "series",
        "species",
        "always",
        "perhaps",
        "whereas",
        "sometimes",
        "afterwards",
        "towards",
        "besides",
        "physics",
        "mathematics",
        "economics",
        "politics",
        "analytics",
        "ethics",
        "statistics",
        "diabetes",
        "lens",
        "chaos",
        "canvas",
        "atlas",
        "alias",
        "bias",
        "windows",
        "kubernetes",
        "jeans",
        "pants",
        "glasses",
        "means",
        "thanks",
        "yes",
        "this",
        "does",
        "goes",
    }
)
# Common English function words: they carry no subject, so lexical relevance ignores them.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "doe",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "id",
        "let",
        "please",
        "tell",
        "want",
        "need",
        "know",
        "like",
        "also",
        "us",
        "one",
        "s",
        "t",
        "re",
        "ve",
        "ll",
        "d",
        "m",
    ]
)


@lru_cache(maxsize=65536)
def fold_plural(word: str) -> str:
    """The singular of an English plural, by rule: tickets -> ticket, policies -> policy, boxes -> box."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL_ENDINGS) or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1]


def tokens(text: str) -> tuple[str, ...]:
    """The normalised words of a text; underscores and hyphens separate words like spaces do."""
    return tuple(fold_plural(word) for word in _WORD.findall(text.lower().replace("_", " ")))


def content_words(text: str) -> list[str]:
    """The normalised words of a text without function words: what lexical relevance counts."""
    return [word for word in tokens(text) if word not in STOPWORDS]


def content_word_counts(text: str) -> Counter[str]:
    """How often each content word occurs in a text: the words counted raw, then each distinct one folded."""
    counts: Counter[str] = Counter()
    for word, count in Counter(_WORD.findall(text.lower().replace("_", " "))).items():
        folded = fold_plural(word)
        if folded not in STOPWORDS:
            counts[folded] += count
    return counts


def separators(text: str) -> tuple[str, ...]:
    """For each normalised word of `text` (as `tokens` finds them), the raw text just before it."""
    lowered = text.lower().replace("_", " ")
    result, previous_end = [], 0
    for match in _WORD.finditer(lowered):
        result.append(lowered[previous_end : match.start()])
        previous_end = match.end()
    return tuple(result)
