"""Metrics and paired bootstrap intervals for downstream benchmarks.

Every metric here is computed for many (training seed, test-set resample) combinations at once:
``predictions`` is ``(n_seeds, n_test)`` and ``weights`` is ``(n_resamples, n_test)`` (how often
each test row was drawn; a row of ones is the test set as it is). The result is an
``(n_seeds, n_resamples)`` matrix. This is what makes a two-level bootstrap (seeds and test rows)
over thousands of resamples take a second instead of minutes.

The interval of an arm's difference against another is a *paired* bootstrap: both arms were
trained on the same sampled training set for each seed and are scored on the same resampled test
rows, so what the interval measures is the difference, not the spread of each arm.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: metric(y_true (n,), predictions (s, n), weights (b, n)) -> (s, b)
Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def accuracy(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share of test rows predicted right."""
    correct = (pred == y[None, :]).astype(np.float64)
    return correct @ weights.T / weights.sum(axis=1)[None, :]


def _counts(y: np.ndarray, pred: np.ndarray, weights: np.ndarray, cls: object):
    is_c = (y == cls).astype(np.float64)
    said_c = (pred == cls).astype(np.float64)
    tp = (said_c * is_c[None, :]) @ weights.T
    fp = (said_c * (1.0 - is_c)[None, :]) @ weights.T
    fn = ((1.0 - said_c) * is_c[None, :]) @ weights.T
    return tp, fp, fn


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 averaged over the classes of the test set, each class counting the same."""
    scores = [_f1(*_counts(y, pred, weights, c)) for c in np.unique(y)]
    return np.mean(scores, axis=0)


def recall(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share of positive (label 1) rows found."""
    tp, _, fn = _counts(y, pred, weights, 1)
    return np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)


def f1(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 of the positive class (label 1)."""
    return _f1(*_counts(y, pred, weights, 1))


def auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve of binary labels (1 positive) from scores (higher = positive),
    with tied scores counted half."""
    pos = y == 1
    out = np.empty((scores.shape[0], weights.shape[0]))
    wp, wn = weights[:, pos], weights[:, ~pos]  # (b, n_pos), (b, n_neg)
    total = wp.sum(axis=1) * wn.sum(axis=1)
    for s, row in enumerate(scores):
        sp, sn = row[pos], row[~pos]
        order = np.argsort(sn, kind="stable")
        sn_sorted = sn[order]
        below = np.searchsorted(sn_sorted, sp, side="left")  # negatives scored lower
        upto = np.searchsorted(sn_sorted, sp, side="right")
        cum = np.concatenate([np.zeros((wn.shape[0], 1)), np.cumsum(wn[:, order], axis=1)], axis=1)
        lower = cum[:, below]  # (b, n_pos): weight of negatives scored below each positive
        tied = cum[:, upto] - lower
        out[s] = ((lower + 0.5 * tied) * wp).sum(axis=1) / np.where(total > 0, total, 1.0)
    return out


#: Metrics by name; ``auc`` takes scores rather than labels.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "recall": recall,
    "f1": f1,
    "auc": auc,
}
#: Metrics that read a model's scores instead of its predicted labels.
SCORE_METRICS = frozenset({"auc"})


def point(metric: str, y: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The metric of each seed on the whole test set: ``(n_seeds,)``."""
    return METRICS[metric](y, values, np.ones((1, len(y))))[:, 0]


def resample_weights(
    n_test: int, n_resamples: int, random_state: int = 0, groups: np.ndarray | None = None
) -> np.ndarray:
    """``(n_resamples, n_test)``: how often each test row is drawn in each bootstrap resample.
    Use the same weights for every comparison on one test set.

    ``groups`` (``(n_test,)`` ints) makes it a cluster bootstrap: groups are drawn with
    replacement and each row weighs what its group does, for test sets whose rows are not
    independent (the corrupted copies of one test image)."""
    if groups is not None:
        codes, index = np.unique(np.asarray(groups), return_inverse=True)
        return resample_weights(len(codes), n_resamples, random_state)[:, index.reshape(-1)]
    rng = np.random.default_rng([random_state, n_test])
    draws = rng.integers(0, n_test, size=(n_resamples, n_test))
    weights = np.zeros((n_resamples, n_test))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
    return weights


def paired_bootstrap(
    metric: str,
    y: np.ndarray,
    arm: np.ndarray,
    baseline: np.ndarray,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    random_state: int = 0,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Mean paired difference ``arm - baseline`` of ``metric`` over seeds, with a bootstrap
    interval that resamples both the training seeds and the test rows.

    ``arm`` and ``baseline`` are ``(n_seeds, n_test)`` predictions (scores for ``auc``), row
    ``s`` of each from the same training sample. ``weights`` are test-row resamples from
    :func:`resample_weights` (made here when not given). Returns ``diff``, ``low``, ``high``
    and ``p_above`` (the share of resamples where the arm came out ahead).
    """
    arm, baseline = np.asarray(arm), np.asarray(baseline)
    if arm.shape != baseline.shape:
        raise ValueError(f"arm {arm.shape} and baseline {baseline.shape} differ in shape")
    n_seeds, n_test = arm.shape
    if weights is None:
        weights = resample_weights(n_test, n_resamples, random_state)
    n_resamples = len(weights)
    fn = METRICS[metric]
    diffs = fn(y, arm, weights) - fn(y, baseline, weights)  # (s, b)
    rng = np.random.default_rng([random_state, n_seeds, n_resamples])
    picks = rng.integers(0, n_seeds, size=(n_resamples, n_seeds))  # seeds drawn per resample
    boot = diffs[picks, np.arange(n_resamples)[:, None]].mean(axis=1)
    full = point(metric, y, arm) - point(metric, y, baseline)
    alpha = (1.0 - confidence) / 2
    return {
        "diff": float(full.mean()),
        "low": float(np.quantile(boot, alpha)),
        "high": float(np.quantile(boot, 1.0 - alpha)),
        "p_above": float((boot > 0).mean()),
    }
