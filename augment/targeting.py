"""Turn an augmentation budget into a per-row plan: how many variants for which rows.

Two planners, both returning a plain DataFrame (``source_id``, ``n_variants``, the group the row
belongs to, and ``why``) that a person can inspect and edit before any runner uses it:

* :func:`plan_by_balance`: rare classes (or segments) get more variants, towards a target share.
* :func:`plan_by_weakness`: slices where the model does worse get more variants.

Every runner accepts a plan (``Augmenter(n_variants=plan)``, ``AugmentedDataset(n_variants=plan)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

PLAN_COLUMNS = ("source_id", "n_variants")


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` that add up to exactly ``total``."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    exact = weights / weights.sum() * total
    floor = np.floor(exact).astype(int)
    rest = total - floor.sum()
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:rest]] += 1
    return floor


def _spread(
    group_rows: np.ndarray,
    n: int,
    rng: np.random.Generator,
    max_per_row: int | None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Share ``n`` variants among the rows of one group: evenly (or by ``weights``), the
    remainder to randomly chosen rows, at most ``max_per_row`` each."""
    k = len(group_rows)
    if weights is None:
        per = np.full(k, n // k)
        extra = rng.permutation(k)[: n - per.sum()]
        per[extra] += 1
    else:
        per = _largest_remainder(weights, n)
    if max_per_row is not None:
        per = np.minimum(per, max_per_row)
    return per


def _frame(
    ids: Sequence[Any],
    group_name: str,
    groups: Sequence[Any],
    counts: np.ndarray,
    why: Sequence[str],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_id": list(ids),
            group_name: list(groups),
            "n_variants": counts.astype(int),
            "why": list(why),
        }
    )


def plan_by_balance(
    labels: Sequence[Any],
    budget: int,
    target_share: Mapping[Any, float] | None = None,
    ids: Sequence[Any] | None = None,
    max_per_row: int | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Spend ``budget`` variants so that class shares move towards ``target_share``.

    With no ``target_share`` every class aims at an equal share. Each class gets
    ``max(0, share * (N + budget) - count)`` variants (scaled to the budget), spread evenly over
    its rows. Classes already above their target get none.
    """
    labels = list(labels)
    if not labels:
        raise ValueError("no rows to plan for")
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    ids = list(range(len(labels))) if ids is None else list(ids)
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids for {len(labels)} labels")
    counts = pd.Series(labels).value_counts(sort=False)
    classes = list(counts.index)
    if target_share is None:
        share = pd.Series(1.0 / len(classes), index=classes)
    else:
        unknown = set(target_share) - set(classes)
        if unknown:
            names = sorted(map(str, unknown))
            raise ValueError(f"target_share names classes not in the data: {names}")
        share = pd.Series({c: float(target_share.get(c, 0.0)) for c in classes})
        if share.sum() <= 0:
            raise ValueError("target_share must give some class a positive share")
        share = share / share.sum()
    total = len(labels) + budget
    need = np.maximum(0.0, share.values * total - counts.values)
    per_class = _largest_remainder(need, budget)
    rng = np.random.default_rng(random_state)
    lab = np.array(labels, dtype=object)
    out = np.zeros(len(labels), dtype=int)
    why = [""] * len(labels)
    for c, n_c, target, v in zip(classes, counts.values, share.values, per_class):
        rows = np.flatnonzero(lab == c)
        out[rows] = _spread(rows, int(v), rng, max_per_row)
        text = f"class {c!s}: {n_c} rows, target share {target:.3f}, {int(v)} variants in all"
        for r in rows:
            why[r] = text
    return _frame(ids, "label", labels, out, why)


def plan_by_weakness(
    frame: pd.DataFrame,
    slices: str | Sequence[str],
    budget: int,
    loss: str | None = None,
    correct: str | None = None,
    id_column: str | None = None,
    within: str = "uniform",
    min_slice_rows: int = 1,
    max_per_row: int | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Spend ``budget`` variants where the model does worse.

    ``frame`` has one row per training example with slice columns and either a per-example
    ``loss`` column or a ``correct`` column (bool / 0-1). A slice's weight is its mean loss, or its
    error rate; the budget is shared in proportion. Within a slice, variants go evenly
    (``within="uniform"``) or in proportion to each row's loss / error (``within="loss"``).
    """
    slices = [slices] if isinstance(slices, str) else list(slices)
    if (loss is None) == (correct is None):
        raise ValueError("give exactly one of loss= (per-example loss) or correct= (0/1 or bool)")
    metric = loss or correct
    for col in [*slices, metric]:
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in the frame (columns: {list(frame.columns)})")
    if within not in ("uniform", "loss"):
        raise ValueError("within must be 'uniform' or 'loss'")
    values = pd.to_numeric(frame[metric], errors="coerce")
    bad = values.isna()
    if bad.any():
        raise ValueError(
            f"column {metric!r} has missing or non-numeric values at rows "
            f"{list(frame.index[bad][:10])}"
        )
    err = values.astype(float) if loss else 1.0 - values.astype(float)
    key = frame[slices].astype(str).agg(" & ".join, axis=1) if len(slices) > 1 else frame[slices[0]]
    stats = err.groupby(key).agg(["mean", "size"])
    weight = stats["mean"].where(stats["size"] >= min_slice_rows, 0.0).clip(lower=0)
    per_slice = _largest_remainder(weight.values, budget)
    rng = np.random.default_rng(random_state)
    keys = key.to_numpy()
    out = np.zeros(len(frame), dtype=int)
    why = [""] * len(frame)
    for s, v, (mean, size) in zip(weight.index, per_slice, stats.itertuples(index=False)):
        rows = np.flatnonzero(keys == s)
        w = err.to_numpy()[rows] if within == "loss" else None
        out[rows] = _spread(rows, int(v), rng, max_per_row, w)
        name = "mean loss" if loss else "error rate"
        text = f"slice {s!s}: {size} rows, {name} {mean:.3f}, {int(v)} variants for the slice"
        for r in rows:
            why[r] = text
    ids = frame[id_column].tolist() if id_column else list(frame.index)
    return _frame(ids, "slice", keys, out, why)


def variant_count(value: Any, source_id: Any = None) -> int:
    """``value`` as a number of variants: a whole number >= 0 (an int, or a float with no
    fractional part). Booleans, fractions, negatives, NaN and text are a ``ValueError`` that
    names the row (``source_id``) and the value."""
    where = "" if source_id is None else f" for source_id {source_id!r}"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"n_variants{where} is a boolean ({value!r}), not a count")
    if isinstance(value, (int, np.integer)):
        n = int(value)
    elif isinstance(value, (float, np.floating)) and float(value).is_integer():
        n = int(value)
    else:
        raise ValueError(f"n_variants{where} must be a whole number >= 0, got {value!r}")
    if n < 0:
        raise ValueError(f"n_variants{where} must be >= 0, got {n}")
    return n


def plan_counts(plan: int | Mapping[Any, int] | pd.DataFrame) -> int | dict[Any, int]:
    """What a runner needs from a plan: an int for every row, or ``{source_id: n_variants}``.

    Every count is checked by :func:`variant_count` (a negative, boolean or fractional count is
    an error naming its row); a plan that names one row twice is an error too."""
    if isinstance(plan, pd.DataFrame):
        missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
        if missing:
            raise KeyError(f"a plan needs columns {list(PLAN_COLUMNS)}; missing {missing}")
        if plan["source_id"].duplicated().any():
            dup = plan.loc[plan["source_id"].duplicated(), "source_id"].iloc[0]
            raise ValueError(f"source_id {dup!r} appears more than once in the plan")
        return {k: variant_count(v, k) for k, v in zip(plan["source_id"], plan["n_variants"])}
    if isinstance(plan, Mapping):
        return {k: variant_count(v, k) for k, v in plan.items()}
    return variant_count(plan)


def check_plan_ids(counts: int | Mapping[Any, int], ids: Iterable[Any]) -> None:
    """Raise ``ValueError`` when a plan names an id that is not among ``ids``: such a row would
    silently get no variants (the usual cause is an id type: ``"0"`` in the plan, ``0`` in the
    data)."""
    if isinstance(counts, int):
        return
    ids = list(ids)
    known = set(ids)
    unknown = [k for k in counts if k not in known]
    if unknown:
        kinds = sorted({type(i).__name__ for i in ids[:1000]})
        raise ValueError(
            f"the plan names {len(unknown)} source id(s) not in the input, e.g. "
            f"{', '.join(repr(u) for u in unknown[:5])} ({type(unknown[0]).__name__}); the "
            f"input's ids are {'/'.join(kinds) or 'none'}, e.g. "
            f"{', '.join(repr(i) for i in ids[:3])}"
        )
