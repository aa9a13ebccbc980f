"""The training sets a benchmark compares, and the controls that keep the comparison honest.

Every arm starts from the same sampled original rows for a seed, so arms differ only in what is
added to them:

``none``          the original rows alone.
``duplicated``    each original repeated ``1 + n_variants`` times: as many rows as the
                  unfiltered arm and no new information. An arm that does not beat this did
                  nothing that weaker regularisation could not do.
``unfiltered``    originals + every candidate.
``filtered``      originals + the candidates the fidelity filter accepted.
``size_matched``  originals + as many candidates as ``filtered`` kept, drawn at random from the
                  unfiltered ones: the filter is credited only for *which* rows it keeps, not
                  for keeping fewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from augment.bench.tuning import TrainingSet, take


def originals(items: Sequence[Any], labels: Sequence[Any]) -> TrainingSet:
    """The original rows as a training set: each its own source."""
    n = len(items)
    return TrainingSet(items, np.asarray(labels), np.arange(n), np.ones(n, dtype=bool))


def with_rows(
    base: TrainingSet, items: Sequence[Any], labels: Sequence[Any], source: Sequence[int]
) -> TrainingSet:
    """``base`` plus made-up rows (``source`` = index of the original each was made from, or
    -1 for none)."""
    n = len(items)
    if hasattr(base.items, "shape"):
        all_items: Any = (
            np.concatenate([base.items, np.asarray(items).reshape((n, *base.items.shape[1:]))])
            if n
            else base.items
        )
    else:
        all_items = list(base.items) + list(items)
    return TrainingSet(
        all_items,
        np.concatenate([base.labels, np.asarray(labels, dtype=base.labels.dtype)]),
        np.concatenate([base.source, np.asarray(source, dtype=np.int64)]),
        np.concatenate([base.original, np.zeros(n, dtype=bool)]),
    )


def duplicated(base: TrainingSet, copies: int) -> TrainingSet:
    """``base`` with every row repeated ``copies`` more times (copies marked as made-up rows of
    their original)."""
    rows = np.tile(np.arange(len(base)), copies)
    extra = base.subset(rows)
    return with_rows(base, extra.items, extra.labels, extra.source)


def size_matched_rows(n_candidates: int, n_kept: int, rng: np.random.Generator) -> np.ndarray:
    """``n_kept`` candidate indices drawn at random without replacement (sorted)."""
    if n_kept > n_candidates:
        raise ValueError(f"cannot draw {n_kept} of {n_candidates} candidates")
    return np.sort(rng.choice(n_candidates, size=n_kept, replace=False))


def standard_arms(
    base: TrainingSet,
    items: Sequence[Any],
    labels: Sequence[Any],
    source: Sequence[int],
    accepted: np.ndarray,
    copies: int,
    rng: np.random.Generator,
) -> dict[str, TrainingSet]:
    """``none``, ``duplicated``, ``unfiltered``, ``filtered`` and ``size_matched`` from the
    originals, every candidate (``items``/``labels``/``source``) and the filter's ``accepted``
    mask; ``copies`` is the duplicated arm's repeats (the variants per row)."""
    labels, source = np.asarray(labels), np.asarray(source, dtype=np.int64)
    accepted = np.asarray(accepted, dtype=bool)
    keep = np.flatnonzero(accepted)
    match = size_matched_rows(len(accepted), len(keep), rng)
    return {
        "none": base,
        "duplicated": duplicated(base, copies),
        "unfiltered": with_rows(base, items, labels, source),
        "filtered": with_rows(base, take(items, keep), labels[keep], source[keep]),
        "size_matched": with_rows(base, take(items, match), labels[match], source[match]),
    }
