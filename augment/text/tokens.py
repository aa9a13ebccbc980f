"""Word tokens that keep everything around them: whitespace runs and punctuation stay where they
were, so an operation that changes one word changes nothing else in the text."""

from __future__ import annotations

import math
import re

from augment.text.protected import holds_placeholder
from augment.text.stopwords import STOPWORDS

_SPLIT = re.compile(r"(\s+)")
# leading punctuation, an alphabetic word (inner ' and - allowed), trailing punctuation
_CORE = re.compile(r"^([^\w]*)([A-Za-z](?:[A-Za-z'’-]*[A-Za-z])?)([^\w]*)$")


def split(text: str) -> list[str]:
    """Alternating [word, space, word, ...] pieces; ``"".join(split(t)) == t``."""
    return _SPLIT.split(text)


def word_core(piece: str) -> tuple[str, str, str] | None:
    """``(prefix, word, suffix)`` when the piece is one alphabetic word with punctuation around
    it; ``None`` for numbers, placeholders, symbols, non-Latin scripts."""
    m = _CORE.match(piece)
    if m is None or holds_placeholder(piece):
        return None
    return m.group(1), m.group(2), m.group(3)


def content_word(piece: str) -> tuple[str, str, str] | None:
    """Like :func:`word_core`, but ``None`` for stop words too."""
    core = word_core(piece)
    if core is None or core[1].lower() in STOPWORDS:
        return None
    return core


def n_changes(n_words: int, aug_p: float, aug_min: int, aug_max: int | None) -> int:
    """How many words to change: ``ceil(aug_p * n_words)`` within ``[aug_min, aug_max]``
    (nlpaug's rule)."""
    n = max(aug_min, math.ceil(aug_p * n_words))
    if aug_max is not None:
        n = min(n, aug_max)
    return n


def match_case(original: str, replacement: str) -> str:
    """``replacement`` in the case pattern of ``original`` (Title, UPPER or as is)."""
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
