"""How good a persona run is, per segment: shapes, pair trends and privacy, as numbers and a PNG.

* **Column shapes**: ``1 - KS statistic`` for numbers, ``1 - total variation distance`` for
  categories, between the real segment and the personas (1 = identical distributions). The same
  score between the real segment and the *whole table* is the baseline: what you would get by
  sampling customers without conditioning on the segment.
* **Pair trends**: for two numbers ``1 - |corr_real - corr_synthetic| / 2`` (Pearson); for any other
  pair ``1 - TVD`` of their joint distribution (numbers binned at the real segment's deciles).
* **Distance to closest record (DCR)**: distance of each persona to its closest real row of the
  training table, against the same for a *holdout* of real segment rows the synthesizer never
  saw. Personas should be no closer to training rows than unseen real customers are; the share of
  personas closer than the holdout's 5th percentile should stay near 5 %.
"""

from __future__ import annotations

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
        if len(self.dcr_synthetic) and len(self.dcr_holdout):
            q05 = float(np.quantile(self.dcr_holdout, 0.05))
            out.update(
                dcr_median_synthetic=float(np.median(self.dcr_synthetic)),
                dcr_median_holdout=float(np.median(self.dcr_holdout)),
                dcr_q05_holdout=q05,
                share_closer_than_holdout_q05=float(np.mean(self.dcr_synthetic < q05)),
                min_dcr_synthetic=float(np.min(self.dcr_synthetic)),
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
    train = clean.drop(index=clean.index[hold])
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
    report.dcr_synthetic = flt.distance_to_closest(sample)
    report.dcr_holdout = flt.distance_to_closest(clean.iloc[hold][cols])
    report.privacy_distance = flt.privacy_distance_
    if interactions is not None and model.id_column is not None and len(result.personas):
        result.interactions = model.interaction_log(result)
        report.logs = segment_logs(model, seg, result.interactions, interactions)
    return report, result
