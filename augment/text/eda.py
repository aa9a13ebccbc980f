"""EDA (Wei & Zou 2019) word operations: random swap, deletion and insertion.

Swap and deletion follow nlpaug's RandomWordAug (adjacent swaps, ``ceil(aug_p * n)`` words within
``[aug_min, aug_max]``) but are plain list edits: nlpaug's swap may move a word across a
protected span (it only skips protected words when it picks the first of the pair), and its
change-log bookkeeping costs more than the edit itself. Insertion (which nlpaug lacks) inserts
WordNet synonyms as EDA does.
"""

from __future__ import annotations

import random
from typing import Any

from augment.text import tokens
from augment.text.base import TextOperation
from augment.text.protected import holds_placeholder
from augment.text.synonyms import lexicon


class RandomSwap(TextOperation):
    """Swap ``ceil(aug_p * words)`` words with a neighbour (nlpaug's adjacent swap).

    Protected spans stay where they are and no word crosses one: a swap that moved "refunded"
    over "not" would move the negation's scope. (nlpaug's RandomWordAug skips protected words
    when it picks a word but may still swap its neighbour with them, so this one is our own.)
    Words split on whitespace, punctuation stays on its word; a word swapped into or out of
    the first position takes or gives up the capital. Records the words that moved.
    """

    name = "random_swap"
    may_add_words = False

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        words = text.split()
        free = [not holds_placeholder(w) for w in words]
        pairs = [i for i in range(len(words) - 1) if free[i] and free[i + 1]]
        if not pairs:
            return " ".join(words), {"moved": []}
        rng = random.Random(seed)
        n = min(len(pairs), tokens.n_changes(len(words), self.aug_p, self.aug_min, self.aug_max))
        moved = []
        for i in rng.sample(pairs, n):
            a, b = words[i], words[i + 1]
            moved.append([a, b])
            if i == 0 and a[:1].isupper() and a[1:2].islower() and b[:1].islower():
                a, b = a[:1].lower() + a[1:], b[:1].upper() + b[1:]
            words[i], words[i + 1] = b, a
        return " ".join(words), {"moved": moved}


class RandomDeletion(TextOperation):
    """Delete ``ceil(aug_p * words)`` words (within ``[aug_min, aug_max]``), never a protected
    span, never every word. Words split on whitespace (punctuation goes with its word); when
    the first word goes, the new first word takes its capital. Records the deleted words.
    """

    name = "random_deletion"
    may_add_words = False

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        words = text.split()
        free = [i for i, w in enumerate(words) if not holds_placeholder(w)]
        if len(free) < 2 and len(free) == len(words):  # a one-word text keeps its word
            return " ".join(words), {"deleted": []}
        rng = random.Random(seed)
        n = tokens.n_changes(len(words), self.aug_p, self.aug_min, self.aug_max)
        n = min(n, len(free) - (len(free) == len(words)))
        gone = set(rng.sample(free, n))
        kept = [w for i, w in enumerate(words) if i not in gone]
        if 0 in gone and kept and words[0][:1].isupper() and kept[0][:1].islower():
            kept[0] = kept[0][:1].upper() + kept[0][1:]
        return " ".join(kept), {"deleted": [words[i] for i in sorted(gone)]}


class RandomInsertion(TextOperation):
    """Insert a WordNet synonym of a random content word at a random position, ``ceil(aug_p *
    words)`` times (EDA's random insertion). Records ``inserted: [[synonym, position], ...]``."""

    name = "random_insertion"

    def __init__(
        self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10, max_senses: int = 2
    ) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max
        self.max_senses = max_senses

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        lex = lexicon(self.max_senses)
        words = text.split()
        pool = []
        for w in words:
            core = tokens.content_word(w)
            if core is not None:
                syns = lex.synonyms(core[1])
                if syns:
                    pool.append(syns)
        if not pool:
            return text, {"inserted": []}
        rng = random.Random(seed)
        n = tokens.n_changes(len(words), self.aug_p, self.aug_min, self.aug_max)
        inserted = []
        for _ in range(n):
            syn = rng.choice(rng.choice(pool))
            pos = rng.randint(0, len(words))
            words.insert(pos, syn)
            inserted.append([syn, pos])
        return " ".join(words), {"inserted": inserted}
