"""First text operations: EDA-style random word swap and deletion through nlpaug."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from augment.candidate import Operation, sample_seed
from augment.text.seeding import seeded_globals


class TextOperation:
    """A seeded text operation: ``apply(text, seed) -> (new_text, Operation)``."""

    name = "text_operation"

    def apply(self, text: str, seed: int) -> tuple[str, Operation]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__}


class _RandomWord(TextOperation):
    action = ""

    def __init__(self, aug_p: float = 0.1, aug_min: int = 1) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min

    def _augmenter(self) -> Any:
        import nlpaug.augmenter.word as naw

        return naw.RandomWordAug(action=self.action, aug_p=self.aug_p, aug_min=self.aug_min)

    def apply(self, text: str, seed: int) -> tuple[str, Operation]:
        if not text.strip():  # nothing to change; the filter calls the pair invalid
            return text, Operation(self.name, {"aug_p": self.aug_p, "skipped": "empty text"})
        aug = self._augmenter()
        with seeded_globals(seed):
            out = aug.augment(text)
        out = out[0] if isinstance(out, list) else out
        before, after = text.split(), out.split()
        changed = sum(a != b for a, b in zip(before, after)) + abs(len(before) - len(after))
        return out, Operation(self.name, {"aug_p": self.aug_p, "words_changed": changed})

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "aug_p": self.aug_p, "aug_min": self.aug_min}


class WordSwap(_RandomWord):
    """Swap neighbouring words (EDA random swap)."""

    name = "word_swap"
    action = "swap"


class WordDeletion(_RandomWord):
    """Delete random words (EDA random deletion)."""

    name = "word_deletion"
    action = "delete"


class TextChain:
    """Apply operations in sequence, each with its own seed derived from the sample seed."""

    modality = "text"

    def __init__(self, operations: Sequence[TextOperation]) -> None:
        self.operations = list(operations)

    def apply(self, payload: str, seed: int) -> tuple[str, list[Operation]]:
        if not isinstance(payload, str):
            raise TypeError(f"text pipeline got {type(payload).__name__}, not str")
        text, ops = payload, []
        for k, op in enumerate(self.operations):
            text, record = op.apply(text, sample_seed(seed, op.name, k))
            ops.append(record)
        return text, ops

    def to_dict(self) -> dict[str, Any]:
        return {"type": "TextChain", "operations": [op.to_dict() for op in self.operations]}
