"""Leakage guard: variants stay in their source's split, and evaluation rows are never sources
or near-copies of accepted variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fidelity.encoders.base import Encoder
from fidelity.validation import identical


class LeakageError(ValueError):
    """An evaluation row is a training source or a near-copy of a training row or variant."""


@dataclass
class Leak:
    eval_index: int
    train_kind: str  # "source" or "variant"
    train_index: int
    similarity: float

    def __str__(self) -> str:
        how = (
            "identical to" if self.similarity >= 1.0 else f"a near-copy ({self.similarity:.3f}) of"
        )
        return f"eval row {self.eval_index} is {how} training {self.train_kind} {self.train_index}"


def group_split(
    groups: Sequence[Any], test_size: float = 0.2, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test positions such that no group (e.g. a source id shared by a row and its
    variants) is on both sides. Uses scikit-learn's ``GroupShuffleSplit``."""
    from sklearn.model_selection import GroupShuffleSplit

    groups = np.asarray(list(groups), dtype=object)
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    train, test = next(split.split(np.zeros(len(groups)), groups=groups.astype(str)))
    return train, test


def split_of_variants(source_ids: Sequence[Any], split_of_source: dict[Any, str]) -> list[str]:
    """The split of each variant: its source's, whatever a random split would have said.
    A variant whose source has no split is an error naming it."""
    out = []
    for k, sid in enumerate(source_ids):
        if sid not in split_of_source:
            raise KeyError(f"variant {k}: source {sid!r} has no split")
        out.append(split_of_source[sid])
    return out


def find_leaks(
    train_sources: Sequence[Any],
    eval_items: Sequence[Any],
    accepted_variants: Sequence[Any] = (),
    encoder: Encoder | None = None,
    near_copy: float = 0.95,
) -> list[Leak]:
    """Every evaluation row that equals or nearly copies (cosine >= ``near_copy``) a training
    source or an accepted variant, once, with its closest match."""
    if encoder is None:
        from fidelity.encoders.text import TextEncoder

        encoder = TextEncoder()
    best: dict[int, Leak] = {}  # one leak per evaluation row: the strongest match
    eval_vecs = encoder.encode(list(eval_items))
    for kind, items in (("source", list(train_sources)), ("variant", list(accepted_variants))):
        if not items:
            continue
        vecs = encoder.encode(items)
        for start in range(0, len(eval_vecs), 1024):
            sims = eval_vecs[start : start + 1024] @ vecs.T
            for r, j in enumerate(sims.argmax(axis=1)):
                e = start + r
                exact = identical(eval_items[e], items[j])
                s = 1.0 if exact else float(sims[r, j])
                if s >= near_copy and (e not in best or s > best[e].similarity):
                    best[e] = Leak(e, kind, int(j), s)
    return [best[e] for e in sorted(best)]


def check_leakage(
    train_sources: Sequence[Any],
    eval_items: Sequence[Any],
    accepted_variants: Sequence[Any] = (),
    encoder: Encoder | None = None,
    near_copy: float = 0.95,
) -> None:
    """Raise :class:`LeakageError` listing every evaluation row that is a training source or a
    near-copy of one or of an accepted variant; return quietly when there is none."""
    leaks = find_leaks(train_sources, eval_items, accepted_variants, encoder, near_copy)
    if leaks:
        shown = "\n  ".join(str(x) for x in leaks[:20])
        more = f"\n  ... and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        raise LeakageError(f"{len(leaks)} evaluation row(s) leak from training:\n  {shown}{more}")
