"""Numbers and plots of what the filter kept and why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fidelity.band import Band
from fidelity.plotting import save_figure, subplots
from fidelity.verdict import Reason, Verdict

#: One colour per reason, the same in every plot.
REASON_COLOURS = {
    Reason.ACCEPTED.value: "tab:green",
    Reason.DRIFT.value: "tab:red",
    Reason.NEAR_DUPLICATE.value: "tab:orange",
    Reason.LABEL_SHIFT.value: "tab:brown",
    Reason.DISFLUENT.value: "tab:pink",
    Reason.CONSTRAINT.value: "tab:purple",
    Reason.INVALID.value: "tab:gray",
}


def verdict_table(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """Count, share and median similarity per reason."""
    df = pd.DataFrame(
        {
            "reason": [v.reason.value for v in verdicts],
            "similarity": [v.similarity for v in verdicts],
        }
    )
    if df.empty:
        return pd.DataFrame(columns=["reason", "count", "share", "median_similarity"])
    g = df.groupby("reason")["similarity"].agg(["size", "median"]).reset_index()
    g.columns = ["reason", "count", "median_similarity"]
    g["share"] = (g["count"] / len(df)).round(3)
    g["median_similarity"] = g["median_similarity"].round(3)
    order = {r: i for i, r in enumerate(REASON_COLOURS)}
    g = g.sort_values("reason", key=lambda s: s.map(order), ignore_index=True)
    return g[["reason", "count", "share", "median_similarity"]]


def acceptance_by_label(verdicts: Sequence[Verdict], labels: Sequence[object]) -> pd.DataFrame:
    """Per label: candidates, accepted, accept rate and the count of each rejection reason, so
    that a filter that thins one class more than another is seen (a label check will: candidates
    of confusable classes fail it more often)."""
    if len(labels) != len(verdicts):
        raise ValueError(f"{len(labels)} labels for {len(verdicts)} verdicts")
    df = pd.DataFrame({"label": list(labels), "reason": [v.reason.value for v in verdicts]})
    counts = pd.crosstab(df["label"], df["reason"])
    out = pd.DataFrame(index=counts.index)
    out["candidates"] = counts.sum(axis=1)
    out["accepted"] = counts.get(Reason.ACCEPTED.value, 0)
    out["accept_rate"] = (out["accepted"] / out["candidates"]).round(3)
    for reason in REASON_COLOURS:
        if reason != Reason.ACCEPTED.value and reason in counts.columns:
            out[reason] = counts[reason]
    return out.reset_index()


def similarity_histogram(
    verdicts: Sequence[Verdict],
    path: str | Path,
    band: Band | None = None,
    title: str = "Similarity of candidates to their source",
) -> Path:
    """A PNG histogram of similarities, stacked by reason, with the band shaded."""
    return histogram_by_reason(
        [v.similarity for v in verdicts], [v.reason.value for v in verdicts], path, band, title
    )


def histogram_by_reason(
    similarities: Sequence[float],
    reasons: Sequence[str],
    path: str | Path,
    band: Band | None = None,
    title: str = "Similarity of candidates to their source",
) -> Path:
    """The same plot from plain columns (e.g. a job's output tables)."""
    sims = np.asarray(similarities, dtype=float)
    reasons = np.asarray(reasons, dtype=object)
    fig, ax = subplots(figsize=(7, 3.5))
    bins = np.linspace(-0.2, 1.0, 49)
    stacks, labels, colours = [], [], []
    for reason, colour in REASON_COLOURS.items():
        x = sims[(reasons == reason) & np.isfinite(sims)]
        if len(x):
            stacks.append(np.clip(x, bins[0], bins[-1]))
            labels.append(f"{reason} ({len(x)})")
            colours.append(colour)
    if stacks:
        ax.hist(stacks, bins=bins, stacked=True, label=labels, color=colours)
    if band is not None:
        ax.axvspan(
            band.min_similarity,
            band.max_similarity,
            color="tab:blue",
            alpha=0.08,
            label=f"band [{band.min_similarity:.2f}, {band.max_similarity:.2f}]",
        )
    ax.set_xlabel("cosine similarity to the source")
    ax.set_ylabel("candidates")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return save_figure(fig, path)


def accept_rate_plot(table: pd.DataFrame, path: str | Path) -> Path:
    """Horizontal bars of accept rate per operation chain (``op_chain``, ``candidates``,
    ``accept_rate`` columns), as a PNG."""
    t = table.sort_values("candidates").tail(20)
    fig, ax = subplots(figsize=(7, 0.4 * len(t) + 1.2))
    ax.barh(t["op_chain"].astype(str), t["accept_rate"], color="tab:green")
    for y, (rate, n) in enumerate(zip(t["accept_rate"], t["candidates"])):
        ax.text(min(rate + 0.01, 0.9), y, f"{rate:.0%} of {n}", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accept rate")
    ax.set_title("Accept rate per operation chain")
    return save_figure(fig, path)
