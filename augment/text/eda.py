"""EDA (Wei & Zou 2019) word operations: random swap and deletion through nlpaug's RandomWordAug,
random insertion of WordNet synonyms (which nlpaug does not have)."""

from __future__ import annotations

import random
from typing import Any

from augment.text import tokens
from augment.text.base import TextOperation
from augment.text.protected import PLACEHOLDER_RE, PLACEHOLDER_STOPWORDS_REGEX
from augment.text.seeding import seeded_globals
from augment.text.synonyms import lexicon


def _whitespace_tokens(text: str) -> list[str]:
    return text.split()


def _join(words: list[str]) -> str:
    return " ".join(words)


class _RandomWordOp(TextOperation):
    """nlpaug's RandomWordAug, built once per operation, seeded per call, skipping
    placeholders (protected spans) and splitting on whitespace only (so punctuation stays on its
    word and contractions stay whole; runs of whitespace become one space)."""

    action = ""

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max

    def _nlpaug(self) -> Any:
        aug = getattr(self, "_aug", None)
        if aug is None:
            import nlpaug.augmenter.word as naw

            aug = self._aug = naw.RandomWordAug(
                action=self.action, aug_p=self.aug_p, aug_min=self.aug_min, aug_max=self.aug_max,
                stopwords_regex=PLACEHOLDER_STOPWORDS_REGEX, tokenizer=_whitespace_tokens,
                reverse_tokenizer=_join,
            )
        return aug

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        aug = self._nlpaug()
        # The action itself, not augment(): that one retries until the text changed and
        # strips it, which would hide what this seed drew.
        with seeded_globals(seed):
            out = getattr(aug, self.action)(text)
        return out, self._record(text.split(), out.split())

    def _record(self, before: list[str], after: list[str]) -> dict[str, Any]:
        raise NotImplementedError


class RandomSwap(TextOperation):
    """Swap ``ceil(aug_p * words)`` words with a neighbour (nlpaug's adjacent swap).

    Protected spans stay where they are and no word crosses one: a swap that moved "refunded"
    over "not" would move the negation's scope. (nlpaug's RandomWordAug skips protected words
    when it picks a word but may still swap its neighbour with them, so this one is our own.)
    Words split on whitespace, punctuation stays on its word; a word swapped into or out of
    the first position takes or gives up the capital. Records the words that moved.
    """

    name = "random_swap"

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        words = text.split()
        free = [not PLACEHOLDER_RE.search(w) for w in words]
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


class RandomDeletion(_RandomWordOp):
    """Delete ``ceil(aug_p * words)`` words (never a protected span). Records the deleted words."""

    name = "random_deletion"
    action = "delete"

    def _record(self, before: list[str], after: list[str]) -> dict[str, Any]:
        deleted, j = [], 0
        for w in before:
            if j < len(after) and after[j] == w:
                j += 1
            else:
                deleted.append(w)
        return {"deleted": deleted}


class RandomInsertion(TextOperation):
    """Insert a WordNet synonym of a random content word at a random position, ``ceil(aug_p *
    words)`` times (EDA's random insertion). Records ``inserted: [[synonym, position], ...]``."""

    name = "random_insertion"

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1, aug_max: int | None = 10,
                 max_senses: int = 2) -> None:
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


# The names of the lead's first version, kept for code that uses them.
class WordSwap(RandomSwap):
    """Alias of :class:`RandomSwap` (first API)."""

    name = "word_swap"


class WordDeletion(RandomDeletion):
    """Alias of :class:`RandomDeletion` (first API)."""

    name = "word_deletion"
