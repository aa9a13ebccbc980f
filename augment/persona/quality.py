"""How good a persona run is, per segment: shapes, pair trends and privacy, as numbers and a PNG.

* **Column shapes**: ``1 - KS statistic`` for numbers, ``1 - total variation distance`` for
  categories, between the real segment and the personas (1 = identical distributions). The same
  score between the real segment and the *whole table* is the baseline: what you would get by
  sampling customers without conditioning on the segment.
* **Pair trends**: for two numbers ``1 - |corr_real - corr_synthetic| / 2`` (Pearson); for any other
  pair ``1 - TVD`` of their joint distribution (numbers binned at the real segment's deciles).
* **Distance to closest record (DCR)**: distance of each persona to its closest real row of the
  training table, against the same for a *holdout* of real segment rows the synthesizer never
  saw (exact copies of a held-out row are taken out of the training table too, so no holdout row
  has a twin there). Personas should be no closer to training rows than unseen real customers
  are:

  - ``share_closer_than_holdout_q05``: the share of personas closer than the holdout's 5 %
    quantile, with a bootstrap 95 % interval (``_lo``/``_hi``: holdout rows and personas
    resampled). What a *perfect* generator (personas drawn like the holdout) would score is
    ``share_if_perfect`` (with its 95 % range): about 5 % only for a large holdout; the quantile
    of a small one sits near its minimum (4 rows: 0.23 on average), so compare with that figure.
    A holdout below :data:`MIN_HOLDOUT` rows gives a warning and a note.
  - ``dcr_baseline_protection`` (SDMetrics' DCRBaselineProtection, in this DCR space): median
    persona DCR / median DCR of as many uniform random rows (numbers uniform between the table's
    minimum and maximum, categories uniform over those seen), capped at 1. 1: personas are as far
    from real customers as random rows; near 0: they sit on top of real customers.
  - ``dcr_overfitting_protection`` (SDMetrics' DCROverfittingProtection): with
    ``share_closer_to_training`` the share of personas closer to a same-size random sample of the
    segment's *training* rows than to the holdout, ``min(2 * (1 - share), 1)``. 1: personas are
    no closer to the rows they were fitted on than to unseen ones (share <= 0.5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from augment.persona.log_quality import log_figures, segment_logs
from augment.persona.segment import Segment, SegmentSpec
from fidelity.plotting import save_figure, subplots

log = logging.getLogger(__name__)

#: A holdout smaller than this gives a warning: its 5 % quantile is not a 5 % quantile.
MIN_HOLDOUT = 20


def column_shape(real: pd.Series, synthetic: pd.Series, categorical: bool) -> float:
    """1 - KS statistic (numbers) or 1 - total variation distance (categories)."""
    if categorical:
        p = real.value_counts(normalize=True)
        q = synthetic.value_counts(normalize=True)
        idx = p.index.union(q.index)
        return float(
            1 - 0.5 * np.abs(p.reindex(idx, fill_value=0) - q.reindex(idx, fill_value=0)).sum()
        )
    return float(1 - ks_2samp(real.to_numpy(float), synthetic.to_numpy(float)).statistic)


def pair_trend(
    real: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str, numeric: set[str]
) -> float:
    """Correlation similarity for two numbers, contingency similarity otherwise."""
    if a in numeric and b in numeric:
        return float(1 - abs(_corr(real[a], real[b]) - _corr(synthetic[a], synthetic[b])) / 2)
    ra, sa, ka = _codes(real[a], synthetic[a], a in numeric)
    rb, sb, kb = _codes(real[b], synthetic[b], b in numeric)
    return _contingency(ra, rb, sa, sb, ka, kb)


def _contingency(
    ra: np.ndarray, rb: np.ndarray, sa: np.ndarray, sb: np.ndarray, ka: int, kb: int
) -> float:
    p = np.bincount(ra * kb + rb, minlength=ka * kb) / len(ra)
    q = np.bincount(sa * kb + sb, minlength=ka * kb) / len(sa)
    return float(1 - 0.5 * np.abs(p - q).sum())


def _corr(x: pd.Series, y: pd.Series) -> float:
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x.to_numpy(float), y.to_numpy(float))[0, 1])


def _codes(
    real: pd.Series, synthetic: pd.Series, numeric: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes on a shared scale: the real segment's deciles for numbers, the union of
    values for categories."""
    if numeric:
        edges = np.unique(np.quantile(real.to_numpy(float), np.linspace(0, 1, 11)))[1:-1]
        r = np.searchsorted(edges, real.to_numpy(float), side="right")
        s = np.searchsorted(edges, synthetic.to_numpy(float), side="right")
        return r, s, len(edges) + 1
    cats = pd.Index(pd.unique(pd.concat([real, synthetic], ignore_index=True).astype(str)))
    r = cats.get_indexer(real.astype(str))
    s = cats.get_indexer(synthetic.astype(str))
    return r, s, len(cats)


@dataclass
class QualityReport:
    """The figures of one segment's persona run (see the module docstring)."""

    segment: str
    columns: pd.DataFrame
    pairs: pd.DataFrame
    dcr_synthetic: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dcr_holdout: np.ndarray = field(default_factory=lambda: np.zeros(0))
    privacy_distance: float = float("nan")
    notes: list[str] = field(default_factory=list)
    #: DCR of uniform random rows to the training table (the DCRBaselineProtection baseline)
    dcr_random: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per persona: distance to a same-size sample of training segment rows, and to the holdout
    dcr_to_training_sample: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dcr_to_holdout: np.ndarray = field(default_factory=lambda: np.zeros(0))
    random_state: int = 0
    #: Interaction-log statistics of the personas, the real segment and the population
    #: (:func:`augment.persona.log_quality.compare_logs`), when a log was given.
    logs: pd.DataFrame | None = None

    def figures(self) -> dict[str, float]:
        """The headline numbers."""
        out = {
            "column_shape_synthetic": float(self.columns["synthetic"].mean()),
            "column_shape_population": float(self.columns["population"].mean()),
            "pair_trend_synthetic": float(self.pairs["synthetic"].mean())
            if len(self.pairs)
            else float("nan"),
            "pair_trend_population": float(self.pairs["population"].mean())
            if len(self.pairs)
            else float("nan"),
        }
        syn, hold = self.dcr_synthetic, self.dcr_holdout
        if len(syn) and len(hold):
            q05 = float(np.quantile(hold, 0.05))
            lo, hi = share_closer_interval(syn, hold, random_state=self.random_state)
            mean, p_lo, p_hi = share_if_perfect(len(hold), len(syn), self.random_state)
            out.update(
                dcr_median_synthetic=float(np.median(syn)),
                dcr_median_holdout=float(np.median(hold)),
                dcr_q05_holdout=q05,
                holdout_rows=float(len(hold)),
                share_closer_than_holdout_q05=float(np.mean(syn < q05)),
                share_closer_than_holdout_q05_lo=lo,
                share_closer_than_holdout_q05_hi=hi,
                share_if_perfect=mean,
                share_if_perfect_lo=p_lo,
                share_if_perfect_hi=p_hi,
                min_dcr_synthetic=float(np.min(syn)),
            )
        if len(syn) and len(self.dcr_random):
            rand = float(np.median(self.dcr_random))
            out.update(
                dcr_median_random=rand,
                dcr_baseline_protection=min(float(np.median(syn)) / rand, 1.0)
                if rand > 0
                else float("nan"),
            )
        if len(self.dcr_to_training_sample) and len(self.dcr_to_holdout):
            closer = float(np.mean(self.dcr_to_training_sample < self.dcr_to_holdout))
            out.update(
                share_closer_to_training=closer,
                dcr_overfitting_protection=min(2 * (1 - closer), 1.0),
            )
        if self.logs is not None:
            out.update(log_figures(self.logs))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "figures": self.figures(),
            "columns": self.columns.to_dict("records"),
            "privacy_distance": self.privacy_distance,
            "notes": list(self.notes),
            "logs": None if self.logs is None else self.logs.to_dict("records"),
        }

    def plot(self, path: str | Path) -> Path:
        """A PNG: column shapes (personas vs whole-table baseline) and the DCR histograms."""
        fig, (ax1, ax2) = subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
        cols = self.columns
        y = np.arange(len(cols))
        ax1.barh(y - 0.2, cols["synthetic"], height=0.4, label="personas", color="tab:green")
        ax1.barh(
            y + 0.2,
            cols["population"],
            height=0.4,
            label="whole table (baseline)",
            color="tab:gray",
        )
        ax1.set_yticks(y, cols["column"], fontsize=7)
        ax1.invert_yaxis()
        ax1.set_xlim(0, 1.02)
        ax1.set_xlabel("shape similarity to the real segment (1 - KS / 1 - TVD)")
        ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
        ax1.set_title(f"segment: {self.segment}", fontsize=9)
        if len(self.dcr_synthetic):
            hi = float(np.quantile(np.r_[self.dcr_synthetic, self.dcr_holdout], 0.98))
            finite_hi = hi if np.isfinite(hi) and hi > 0 else 1.0
            bins = np.linspace(0, finite_hi, 40)
            ax2.hist(
                np.clip(self.dcr_synthetic, 0, finite_hi),
                bins=bins,
                density=True,
                alpha=0.6,
                label=f"personas (n={len(self.dcr_synthetic)})",
                color="tab:green",
            )
            if len(self.dcr_holdout):
                ax2.hist(
                    np.clip(self.dcr_holdout, 0, finite_hi),
                    bins=bins,
                    density=True,
                    alpha=0.6,
                    label=f"holdout real rows (n={len(self.dcr_holdout)})",
                    color="tab:blue",
                )
            if np.isfinite(self.privacy_distance):
                ax2.axvline(
                    self.privacy_distance,
                    color="tab:red",
                    ls="--",
                    label=f"privacy bound {self.privacy_distance:.3f}",
                )
            ax2.set_xlabel("distance to closest training record")
            ax2.set_ylabel("density")
            ax2.legend(fontsize=8)
        return save_figure(fig, path, dpi=110)


def share_closer_interval(
    dcr_synthetic: np.ndarray,
    dcr_holdout: np.ndarray,
    q: float = 0.05,
    n_boot: int = 2_000,
    random_state: int = 0,
) -> tuple[float, float]:
    """Bootstrap 95 % interval of the share of personas closer than the holdout's ``q``
    quantile: the holdout rows are resampled (the quantile moves with them), and the personas
    through a binomial draw of the same size."""
    rng = np.random.default_rng(random_state)
    syn = np.sort(np.asarray(dcr_synthetic, dtype=np.float64))
    hold = np.asarray(dcr_holdout, dtype=np.float64)
    per_chunk = max(1, 2_000_000 // len(hold))  # bounded memory for a large holdout
    thresholds = np.concatenate(
        [
            np.quantile(hold[rng.integers(0, len(hold), size=(k, len(hold)))], q, axis=1)
            for k in np.diff(np.r_[np.arange(0, n_boot, per_chunk), n_boot])
        ]
    )
    p = np.searchsorted(syn, thresholds, side="left") / len(syn)
    shares = rng.binomial(len(syn), p) / len(syn)
    lo, hi = np.quantile(shares, [0.025, 0.975])
    return float(lo), float(hi)


def share_if_perfect(
    n_holdout: int, n_synthetic: int, random_state: int = 0, q: float = 0.05, n_sim: int = 20_000
) -> tuple[float, float, float]:
    """Mean and 95 % range of ``share_closer_than_holdout_q05`` for a perfect generator: personas
    and holdout rows drawn from one distribution. Distribution-free (only ranks matter): the
    share of the distribution below the holdout's ``q`` quantile (numpy's linear interpolation at
    position ``h = (n - 1) q``) has mean ``(h + 1) / (n + 1)`` (0.23 for 4 rows), near ``q`` only
    for a large holdout. It is simulated with uniform holdouts when that is small (exact), else
    drawn from Beta(h + 1, n - h); the personas add a binomial draw."""
    rng = np.random.default_rng(random_state)
    if n_holdout * n_sim <= 4_000_000:
        thresholds = np.quantile(rng.random((n_sim, n_holdout)), q, axis=1)
    else:
        h = (n_holdout - 1) * q
        thresholds = rng.beta(h + 1, n_holdout - h, size=n_sim)
    shares = rng.binomial(n_synthetic, thresholds) / n_synthetic
    lo, hi = np.quantile(shares, [0.025, 0.975])
    return float(shares.mean()), float(lo), float(hi)


def uniform_rows(
    table: pd.DataFrame, categorical: list[str], n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``n`` random rows: numbers uniform between each column's minimum and maximum (whole
    numbers for integer columns), categories uniform over the values seen (DCRBaselineProtection's
    random baseline)."""
    cat = set(categorical)
    cols = {}
    for c in table.columns:
        col = table[c]
        if c in cat or not pd.api.types.is_numeric_dtype(col):
            values = pd.unique(col.dropna())
            cols[c] = values[rng.integers(0, len(values), size=n)]
        elif pd.api.types.is_integer_dtype(col):
            cols[c] = rng.integers(int(col.min()), int(col.max()) + 1, size=n).astype(col.dtype)
        else:
            cols[c] = rng.uniform(float(col.min()), float(col.max()), size=n).astype(col.dtype)
    return pd.DataFrame(cols)


def quality_report(
    real_segment: pd.DataFrame,
    synthetic: pd.DataFrame,
    population: pd.DataFrame,
    categorical: list[str],
    segment: str = "",
    max_rows: int = 20_000,
    random_state: int = 0,
) -> QualityReport:
    """Column-shape and pair-trend figures of ``synthetic`` against ``real_segment``, with the
    whole ``population`` as baseline (DCR figures come from :func:`evaluate_segment`).
    At most ``max_rows`` personas are scored (a seeded sample)."""
    cols = [c for c in real_segment.columns if c in synthetic.columns]
    if len(synthetic) > max_rows:
        synthetic = synthetic.sample(max_rows, random_state=random_state)
    cat = set(categorical)
    numeric = {c for c in cols if c not in cat}
    rows = []
    for c in cols:
        rows.append(
            {
                "column": c,
                "kind": "categorical" if c in cat else "numeric",
                "metric": "1 - TVD" if c in cat else "1 - KS",
                "synthetic": column_shape(real_segment[c], synthetic[c], c in cat),
                "population": column_shape(real_segment[c], population[c], c in cat),
            }
        )
    pairs = []
    for a, b in combinations(cols, 2):
        pairs.append(
            {
                "column_a": a,
                "column_b": b,
                "synthetic": pair_trend(real_segment, synthetic, a, b, numeric),
                "population": pair_trend(real_segment, population, a, b, numeric),
            }
        )
    return QualityReport(segment, pd.DataFrame(rows).round(4), pd.DataFrame(pairs).round(4))


def evaluate_segment(
    synthesizer: Any,
    table: pd.DataFrame,
    segment: SegmentSpec,
    n: int,
    holdout: float = 0.2,
    interactions: pd.DataFrame | None = None,
) -> tuple[QualityReport, Any]:
    """Fit a copy of ``synthesizer`` on the table without a holdout share of the segment's rows,
    generate ``n`` personas, and report shapes, pair trends and DCR against that holdout.

    Returns the report and the :class:`~augment.persona.synthesizer.PersonaResult`.
    """
    from augment.persona.synthesizer import PersonaSynthesizer

    seg = Segment.of(segment)
    params = synthesizer.get_params()
    probe = PersonaSynthesizer.from_dict(params).fit(table)
    clean = probe.table_
    mask = seg.mask(probe.real_)
    seg_idx = np.flatnonzero(mask)
    rng = np.random.default_rng(params["random_state"])
    n_hold = max(1, int(round(holdout * len(seg_idx))))
    if len(seg_idx) - n_hold < 2:
        raise ValueError(
            f"segment {seg.name!r} has {len(seg_idx)} rows: too few to hold out {n_hold}"
        )
    hold = rng.choice(seg_idx, size=n_hold, replace=False)
    # a held-out customer's exact twin stays out of training too: else its DCR is 0
    key = pd.util.hash_pandas_object(probe.real_, index=False).to_numpy()
    twins = np.isin(key, key[hold])
    train = clean.drop(index=clean.index[twins])
    model = PersonaSynthesizer.from_dict(params).fit(train, interactions)
    result = model.generate(seg, n, interactions=False)
    cols = model.columns_
    real_seg = model.real_[seg.mask(model.real_)]
    report = quality_report(
        real_seg, result.personas[cols], model.real_, model.schema_.of_kind("categorical"), seg.name
    )
    flt = model.segment_filter(seg)
    sample = result.personas[cols]
    if len(sample) > 20_000:
        sample = sample.sample(20_000, random_state=params["random_state"])
    holdout = clean.iloc[hold][cols]
    report.random_state = params["random_state"]
    report.dcr_synthetic = flt.distance_to_closest(sample)
    report.dcr_holdout = flt.distance_to_closest(holdout)
    report.privacy_distance = flt.privacy_distance_
    cat = model.schema_.of_kind("categorical")
    report.dcr_random = flt.distance_to_closest(
        uniform_rows(model.real_[cols], cat, len(sample), rng)
    )
    if len(sample):
        size = min(n_hold, len(real_seg))
        train_seg = real_seg.iloc[rng.choice(len(real_seg), size=size, replace=False)]
        report.dcr_to_training_sample = flt.distance_to(sample, train_seg[cols])
        report.dcr_to_holdout = flt.distance_to(sample, holdout)
    if n_hold < MIN_HOLDOUT:
        mean, lo, hi = share_if_perfect(n_hold, max(len(sample), 1), params["random_state"])
        note = (
            f"the holdout has {n_hold} row(s): its 5 % DCR quantile sits near its minimum, so "
            f"even a perfect generator scores share_closer_than_holdout_q05 = {mean:.2f} on "
            f"average (95 % range {lo:.2f}-{hi:.2f}), not 0.05; compare with share_if_perfect, "
            f"or hold out at least {MIN_HOLDOUT} rows (a larger segment or holdout share)"
        )
        log.warning("segment %r: %s", seg.name, note)
        report.notes.append(note)
    if interactions is not None and model.id_column is not None and len(result.personas):
        result.interactions = model.interaction_log(result)
        report.logs = segment_logs(model, seg, result.interactions, interactions)
    return report, result
