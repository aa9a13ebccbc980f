"""Derive the similarity band from the data instead of a magic number.

Method (see docs/calibration.md):

* ``safe``: similarity between each source and its *known-safe* variants (paraphrases you trust,
  or variants a person checked). Their lower tail is how far a meaning-preserving variant may go.
* ``same_label`` / ``other_label``: similarity between a source and *other* sources with the same /
  a different label. These pairs do not mean the same thing; a band that admits them admits drift.

The lower bound is the ``(1 - keep)`` quantile of ``safe`` (it keeps a share ``keep`` of the safe
variants), raised to the ``reject`` quantile of the other-source pairs when that is higher, so that
at most ``1 - reject`` of unrelated pairs would pass. The upper bound is the ``upper_quantile`` of
``safe`` (default 1.0: the closest known-safe variant): a candidate closer to its source than every
variant judged useful is treated as a near-copy that adds nothing.

Assumptions: the safe variants are representative of what the pipeline should produce; other
sources, even of the same label, do not share the source's meaning; the encoder is the one the
filter will use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fidelity.band import Band
from fidelity.encoders.base import Encoder
from fidelity.plotting import save_figure, subplots


@dataclass
class Calibration:
    """The derived band, the three similarity samples behind it, and how well they separate."""

    band: Band
    safe: np.ndarray
    same_label: np.ndarray
    other_label: np.ndarray
    notes: list[str] = field(default_factory=list)

    def rates(self) -> dict[str, float]:
        """Share of each sample the band accepts."""
        b = self.band

        def inside(x: np.ndarray) -> float:
            if len(x) == 0:
                return float("nan")
            return float(np.mean((x >= b.min_similarity) & (x <= b.max_similarity)))

        return {
            "safe_accepted": inside(self.safe),
            "same_label_accepted": inside(self.same_label),
            "other_label_accepted": inside(self.other_label),
        }

    def to_dict(self) -> dict[str, Any]:
        def desc(x: np.ndarray) -> dict[str, float]:
            if len(x) == 0:
                return {"n": 0}
            q = np.quantile(x, [0.05, 0.5, 0.95])
            return {"n": int(len(x)), "q05": float(q[0]), "median": float(q[1]), "q95": float(q[2])}

        return {
            "band": self.band.to_dict(),
            "safe": desc(self.safe),
            "same_label": desc(self.same_label),
            "other_label": desc(self.other_label),
            "rates": self.rates(),
            "notes": list(self.notes),
        }

    def plot(self, path: str | Path) -> Path:
        """Histogram of the three samples with the band drawn on it, as a PNG."""
        fig, ax = subplots(figsize=(7, 3.5))
        bins = np.linspace(-0.2, 1.0, 61)
        for name, x, colour in (
            ("safe variants", self.safe, "tab:green"),
            ("other sources, same label", self.same_label, "tab:orange"),
            ("other sources, other label", self.other_label, "tab:red"),
        ):
            if len(x):
                ax.hist(
                    x,
                    bins=bins,
                    alpha=0.5,
                    density=True,
                    label=f"{name} (n={len(x)})",
                    color=colour,
                )
        ax.axvspan(
            self.band.min_similarity,
            self.band.max_similarity,
            color="tab:blue",
            alpha=0.08,
            label=f"band [{self.band.min_similarity:.2f}, {self.band.max_similarity:.2f}]",
        )
        ax.set_xlabel("cosine similarity to the source")
        ax.set_ylabel("density")
        ax.legend(fontsize=8, loc="upper left")
        return save_figure(fig, path)


def calibrate(
    sources: Sequence[Any],
    variants: Sequence[Any],
    labels: Sequence[Any] | None = None,
    encoder: Encoder | None = None,
    keep: float = 0.95,
    reject: float = 0.95,
    upper_quantile: float = 1.0,
    max_other_pairs: int = 5_000,
    random_state: int = 0,
) -> Calibration:
    """Derive a :class:`Band` from known-safe variants and from pairs of different sources.

    ``sources[i]`` and ``variants[i]`` are a known-safe pair (repeat a source for several
    variants); ``labels[i]`` is the source's label (optional; without it all other-source pairs
    count as ``other_label``). Other-source pairs are sampled (at most ``max_other_pairs`` of each
    kind) with ``random_state``.
    """
    if len(sources) != len(variants):
        raise ValueError(f"{len(sources)} sources but {len(variants)} variants: pass them in pairs")
    if len(sources) < 2:
        raise ValueError("calibration needs at least 2 (source, variant) pairs")
    if not 0 < keep <= 1 or not 0 < reject <= 1 or not 0 < upper_quantile <= 1:
        raise ValueError("keep, reject and upper_quantile are shares in (0, 1]")
    if encoder is None:
        from fidelity.encoders.text import TextEncoder

        encoder = TextEncoder()
    src_vecs = encoder.encode(list(sources))
    var_vecs = encoder.encode(list(variants))
    safe = np.einsum("ij,ij->i", src_vecs, var_vecs)

    # distinct sources for the other-source pairs
    keys: dict[Any, int] = {}
    for i, s in enumerate(sources):
        keys.setdefault(_key(s), i)
    uniq = np.fromiter(keys.values(), dtype=np.int64)
    lab = np.array([None if labels is None else labels[i] for i in uniq], dtype=object)
    rng = np.random.default_rng(random_state)
    same, other = _pair_sims(src_vecs[uniq], lab, labels is not None, rng, max_other_pairs)

    notes: list[str] = []
    low = float(np.quantile(safe, 1 - keep))
    unrelated = np.concatenate([same, other])
    if len(unrelated):
        guard = float(np.quantile(unrelated, reject))
        if guard > low:
            notes.append(
                f"the {1 - keep:.0%} quantile of safe variants ({low:.3f}) would admit more than "
                f"{1 - reject:.0%} of unrelated pairs; lower bound raised to {guard:.3f}, which "
                f"rejects {np.mean(safe < guard):.1%} of the safe variants"
            )
            low = guard
    high = float(np.quantile(safe, upper_quantile))
    if high <= low:
        notes.append(
            f"safe variants are no closer than unrelated pairs (upper {high:.3f} <= lower "
            f"{low:.3f}): the encoder cannot separate them; upper bound set to 1.0"
        )
        high = 1.0
    band = Band(low, min(high, 1.0))
    return Calibration(band, safe, same, other, notes)


def _key(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return (x.shape, x.tobytes())
    return x


def _pair_sims(
    vecs: np.ndarray, labels: np.ndarray, have_labels: bool, rng: np.random.Generator, n_max: int
) -> tuple[np.ndarray, np.ndarray]:
    n = len(vecs)
    if n < 2:
        return np.zeros(0), np.zeros(0)
    m = min(n_max * 4, n * (n - 1))
    a = rng.integers(0, n, size=m)
    b = rng.integers(0, n, size=m)
    keep = a != b
    a, b = a[keep], b[keep]
    sims = np.einsum("ij,ij->i", vecs[a], vecs[b])
    if not have_labels:
        return np.zeros(0), sims[:n_max]
    same_mask = labels[a] == labels[b]
    return sims[same_mask][:n_max], sims[~same_mask][:n_max]


@dataclass
class ThresholdCalibration:
    """A check's threshold derived from known-good pairs: the ``1 - keep`` quantile of the
    check's score over them (and, when known-bad pairs were given, the share of those it
    rejects)."""

    check: str
    param: str
    value: float
    scores: np.ndarray
    keep: float
    bad_rejected: float = float("nan")
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        finite = self.scores[np.isfinite(self.scores)]
        return {
            "check": self.check,
            "param": self.param,
            "value": self.value,
            "keep": self.keep,
            "n": int(len(finite)),
            "good_accepted": float(np.mean(finite >= self.value)) if len(finite) else None,
            "bad_rejected": self.bad_rejected,
            "notes": list(self.notes),
        }


def calibrate_checks(
    flt: Any,
    sources: Sequence[Any],
    variants: Sequence[Any],
    labels: Sequence[Any] | None = None,
    source_ids: Sequence[Any] | None = None,
    keep: float = 0.95,
    bad: tuple[Sequence[Any], Sequence[Any], Sequence[Any] | None] | None = None,
    apply: bool = True,
) -> dict[str, ThresholdCalibration]:
    """Derive the threshold of every check of ``flt`` that has one (``label``:
    ``min_probability``; ``fluency``: ``min_delta``) from known-good pairs.

    ``(sources[i], variants[i])`` is a pair that should pass (a trusted paraphrase, or another
    real sentence of the same label for the label check) and ``labels[i]`` the source's label.
    Each check is run alone with its threshold opened fully; its threshold becomes the ``1 -
    keep`` quantile of its score over the good pairs (the observed value at or below it, so at
    least a share ``keep`` of them pass; the label check's argmax rule still applies on top).
    ``bad=(sources, variants, labels)`` adds the share of known-bad pairs the derived threshold
    rejects. With ``apply`` the thresholds are set on the checks. A label check must be fitted
    first (``flt.fit``).
    """
    if not 0 < keep <= 1:
        raise ValueError("keep is a share in (0, 1]")
    from fidelity.filter import FidelityFilter  # the filter imports this module's neighbours

    out: dict[str, ThresholdCalibration] = {}
    for chk in flt.checks:
        param, score = chk.threshold_param, chk.score_name
        if param is None or score is None:
            continue
        old = getattr(chk, param)
        setattr(chk, param, 0.0 if param == "min_probability" else -np.inf)
        try:
            alone = FidelityFilter(flt._encoder(), flt.min_similarity, flt.max_similarity, [chk])
            good = np.array(
                [v.score(score) for v in alone.judge(sources, variants, None, labels, source_ids)],
                dtype=np.float64,
            )
            finite = good[np.isfinite(good)]
            notes: list[str] = []
            if len(finite) == 0:
                setattr(chk, param, old)
                notes.append(f"no {score} could be computed (check off?); {param} left at {old}")
                out[chk.name] = ThresholdCalibration(chk.name, param, old, good, keep, notes=notes)
                continue
            value = float(np.quantile(finite, 1 - keep, method="lower"))
            if len(finite) < 20:
                notes.append(f"only {len(finite)} good pairs: the {1 - keep:.0%} quantile is rough")
            bad_rej = float("nan")
            if bad is not None:
                b_src, b_var, b_lab = bad
                vb = alone.judge(b_src, b_var, None, b_lab)
                sb = np.array([v.score(score) for v in vb], dtype=np.float64)
                rejected = [(not v.accepted) or s < value for v, s in zip(vb, sb)]
                bad_rej = float(np.mean(rejected)) if rejected else float("nan")
        finally:
            setattr(chk, param, old)
        if apply:
            setattr(chk, param, value)
        out[chk.name] = ThresholdCalibration(chk.name, param, value, good, keep, bad_rej, notes)
    return out
