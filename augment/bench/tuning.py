"""Hyperparameters chosen by cross-validation on each arm's own training set, grouped by source.

An arm with 16 variants per row has 17 times the rows of the unaugmented arm. A logistic
regression at a fixed ``C`` is then regularised 17 times less, and that alone can look like a gain
from augmentation (see docs/benchmarks/downstream.md). So every arm gets its ``C`` from the same
grid by cross-validation on its own training set, and the folds are built so that the score
cannot be flattered by the augmentation:

* folds are drawn over the *original* rows (stratified by label, grouped by ``groups`` when
  originals share a group);
* a variant goes to the training side of a fold only when its source does, and never to the
  validation side: a variant is never scored against a model trained on its own source;
* the validation score is on original rows only, the rows a test set is made of;
* rows with no source (synthetic rows such as personas) are training rows in every fold.

The score is the log-loss of the validation rows (a proper score: it rewards calibrated
probabilities, so a model that predicts one class for everything cannot tie with a useful one the
way it can on accuracy over a few dozen rows); scores within ``TIE_TOLERANCE`` of the best are
ties, and ties go to the grid value nearest the default (``C = 1``). A model that predicts one
class for every test row is *degenerate* (:func:`is_degenerate`); the benchmarks flag it in their
results instead of averaging it in silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold

#: Decades from strong to weak regularisation: the grid every logistic regression is tuned on.
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
#: scikit-learn's default ``C``: where ties go.
DEFAULT_C = 1.0
#: Validation log-losses closer than this to the best one count as ties.
TIE_TOLERANCE = 1e-4
#: How a grid value is scored on the validation rows: ``log_loss`` (lower is better) or the
#: round-one ``accuracy`` (kept to show what it did).
SCORINGS = ("log_loss", "accuracy")
#: Probabilities are clipped here before the log (a class the fold never saw gets this).
_EPS = 1e-15

#: featurize(train_items) -> (train_matrix, transform): fitted on the training items only, with the
#: function that turns other items into the same features.
Featurize = Callable[[Sequence[Any]], tuple[Any, Callable[[Sequence[Any]], Any]]]


@dataclass
class TrainingSet:
    """The rows one arm trains on, with where each came from.

    ``items`` are texts, arrays or feature rows; ``source`` is the index of the original row each
    item was made from (an original is its own source; ``-1`` for a row made from no particular
    source); ``original`` marks the rows that are real.
    """

    items: Sequence[Any]
    labels: np.ndarray
    source: np.ndarray
    original: np.ndarray

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels)
        self.source = np.asarray(self.source, dtype=np.int64)
        self.original = np.asarray(self.original, dtype=bool)
        n = len(self.items)
        for name in ("labels", "source", "original"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{len(getattr(self, name))} {name} for {n} items")

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, rows: np.ndarray) -> TrainingSet:
        return TrainingSet(
            take(self.items, rows),
            self.labels[rows],
            self.source[rows],
            self.original[rows],
        )


def folds(
    data: TrainingSet, n_splits: int = 4, random_state: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, validation rows) per fold, built as the module docstring says; fewer folds
    when even the largest class has fewer original rows than ``n_splits``, none when there are
    fewer than two. A class with fewer rows than folds is spread as far
    as it goes (some folds validate without it)."""
    orig = np.flatnonzero(data.original)
    labels = data.labels[orig]
    largest_class = int(np.unique(labels, return_counts=True)[1].max()) if len(orig) else 0
    k = int(min(n_splits, len(np.unique(data.source[orig])), largest_class))
    if k < 2:
        return []
    out = []
    for va in _validation_folds(
        tuple(labels.tolist()), tuple(data.source[orig].tolist()), k, random_state
    ):
        held_out = np.zeros(int(data.source.max()) + 2, dtype=bool)
        held_out[data.source[orig[va]]] = True
        train = np.flatnonzero(~held_out[data.source])  # source -1 indexes the spare last slot
        out.append((train, orig[va]))
    return out


@lru_cache(maxsize=16)
def _validation_folds(
    labels: tuple, groups: tuple, k: int, random_state: int
) -> tuple[np.ndarray, ...]:
    """Positions (among the original rows) of each fold's validation rows. Cached: the arms of
    one sample share their original rows, and ``StratifiedGroupKFold`` takes seconds for a few
    thousand groups."""
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    n = len(labels)
    with warnings.catch_warnings():  # a class rarer than k: stratified as far as it goes
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return tuple(
            va for _, va in cv.split(np.arange(n), np.asarray(labels), groups=np.asarray(groups))
        )


@dataclass
class Tuned:
    """The model fitted on the whole arm with the chosen parameter, and how it was chosen."""

    model: Any
    param: Any
    cv_scores: dict[Any, float] = field(default_factory=dict)
    n_folds: int = 0


def validation_loss(
    y: np.ndarray, proba: np.ndarray, classes: Sequence[Any], scoring: str = "log_loss"
) -> float:
    """Mean loss of predicted class probabilities ``proba`` (columns in the order of
    ``classes``) on labels ``y``: the log-loss (a label the model never saw costs
    ``-log(1e-15)``), or ``1 - accuracy`` with ``scoring="accuracy"``."""
    if scoring not in SCORINGS:
        raise ValueError(f"unknown scoring {scoring!r}; choose from {SCORINGS}")
    classes = np.asarray(classes)
    if scoring == "accuracy":
        return float(np.mean(classes[np.argmax(proba, axis=1)] != np.asarray(y)))
    col = {c: j for j, c in enumerate(classes.tolist())}
    idx = np.array([col.get(v, -1) for v in np.asarray(y).tolist()])
    p = np.where(idx >= 0, proba[np.arange(len(idx)), np.maximum(idx, 0)], 0.0)
    return float(-np.mean(np.log(np.clip(p, _EPS, 1.0))))


def choose(
    grid: Sequence[Any], losses: Sequence[float], default: Any, tolerance: float = TIE_TOLERANCE
) -> Any:
    """The grid value with the lowest loss; values within ``tolerance`` of it tie, and ties go
    to the value nearest ``default`` in grid order (the default itself when it ties)."""
    losses = np.asarray(losses, dtype=float)
    tied = np.flatnonzero(losses <= np.nanmin(losses) + tolerance)
    grid = list(grid)
    anchor = grid.index(default) if default in grid else len(grid) // 2
    return grid[int(tied[np.argmin(np.abs(tied - anchor))])]


def is_degenerate(predictions: Sequence[Any]) -> bool:
    """A model that predicts one class for every row: a constant, whatever its scores say."""
    return len(np.unique(np.asarray(predictions))) <= 1


def tune_and_fit(
    estimator: Any,
    param: str,
    grid: Sequence[Any],
    data: TrainingSet,
    featurize: Featurize | None = None,
    n_splits: int = 4,
    random_state: int = 0,
    default: Any = DEFAULT_C,
    scoring: str = "log_loss",
) -> tuple[Tuned, Callable[[Sequence[Any]], Any]]:
    """Choose ``param`` of the scikit-learn ``estimator`` from ``grid`` by grouped
    cross-validation (the validation log-loss of the original rows, pooled over folds; see the
    module docstring), then fit it on all of ``data``.

    Within a fold the grid is fitted in the order given, each fit warm-started from the last
    where the estimator supports it (give a grid from strong to weak regularisation); the final
    model is fitted from scratch.

    ``featurize`` turns items into a model's input, fitted on the training side only (a TF-IDF
    vocabulary, say); ``None`` uses the items as they are. Returns the tuned model and a
    function that featurizes new items the way the final model saw its training rows. Ties,
    and too few rows to cross-validate, go to ``default`` (the grid's middle when it is not in
    the grid). ``cv_scores`` holds each value's pooled validation loss (lower is better).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"unknown scoring {scoring!r}; choose from {SCORINGS}")
    feat = featurize or _identity
    splits = folds(data, n_splits, random_state)
    scores: dict[Any, float] = {}
    if splits:
        totals = np.zeros(len(grid))
        for train, val in splits:
            x_tr, transform = feat(take(data.items, train))
            x_va = transform(take(data.items, val))
            model = clone(estimator)
            if "warm_start" in model.get_params():
                model.set_params(warm_start=True)
            for j, p in enumerate(grid):
                model.set_params(**{param: p}).fit(x_tr, data.labels[train])
                proba = model.predict_proba(x_va)
                loss = validation_loss(data.labels[val], proba, model.classes_, scoring)
                totals[j] += loss * len(val)
        losses = totals / sum(len(v) for _, v in splits)
        scores = {p: float(a) for p, a in zip(grid, losses)}
        best = choose(grid, losses, default)
    else:
        best = default if default in grid else grid[len(grid) // 2]
    x_all, transform = feat(data.items)
    model = clone(estimator).set_params(**{param: best}).fit(x_all, data.labels)
    return Tuned(model, best, scores, len(splits)), transform


def _identity(items: Any) -> tuple[Any, Callable[[Any], Any]]:
    return items, _same


def _same(items: Any) -> Any:
    return items


def take(items: Any, rows: np.ndarray) -> Any:
    """Rows of a list or an array."""
    if hasattr(items, "shape"):
        return items[rows]
    return [items[i] for i in rows]
