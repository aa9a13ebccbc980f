"""The image benchmark's robustness report: which augmentation buys which robustness.

Every model of :class:`augment.bench.image.ImageBenchmark` run with ``corrupted=True`` is scored
on the clean test set and on each MedMNIST-C corruption family's test set (a data set of its own
in the :class:`~augment.bench.results.BenchResult`, so the paired intervals apply as they do to
the clean set). This module condenses that into one table per model and size (arms by test set,
the primary metric and its paired difference against ``none``) and one forest plot, and writes
them beside the full tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.bench.image import ARMS, DATASET, FAMILIES, corrupted_dataset
from augment.bench.image import QUICK as IMAGE_QUICK
from augment.bench.results import BenchResult
from fidelity.plotting import save_figure, subplots

#: Settings of the full run of benchmarks/image_robustness.py (both models, 10 and 50 X-rays per
#: class, every test image corrupted).
FULL: dict[str, Any] = {
    "shots": (10, 50),
    "seeds": 10,
    "n_variants": 2,
    "models": ("cnn", "lite0"),
    "corrupted": True,
}
#: ``--quick``: the image benchmark's quick mode with both models and the corrupted sets (under a
#: minute on 2 busy cores): a smoke test of the whole report, not a result.
QUICK: dict[str, Any] = {**IMAGE_QUICK, "models": ("cnn", "lite0"), "corrupted": True}


def test_sets(result: BenchResult) -> list[str]:
    """The clean test set, then each corruption family's, as named in ``result``."""
    from augment.bench.corruptions import FAMILIES as CORRUPTION_FAMILIES

    names = [DATASET] + [corrupted_dataset(f) for f in CORRUPTION_FAMILIES]
    return [n for n in names if n in result.truth]


def _label(name: str) -> str:
    return "clean" if name == DATASET else name.split("/", 1)[1]


def summary_markdown(result: BenchResult, metric: str = "auc") -> str:
    """Per model and size: each arm's ``metric`` on every test set (mean over seeds) and its
    paired difference against ``none`` with the 95% interval; then the filtered arms against
    their size-matched controls, per test set."""
    table, diffs = result.table(), result.differences()
    if table.empty:
        return "No trials.\n"
    sets = test_sets(result)
    lines = []
    for (size, model), _ in table.groupby(["size", "model"], sort=False):
        lines += [f"### {model}, {size}: {metric.upper()} by test set", ""]
        head = ["arm", *(_label(s) for s in sets)]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for arm in ARMS:
            cells = [arm]
            for s in sets:
                row = table[
                    (table.dataset == s)
                    & (table["size"] == size)
                    & (table.model == model)
                    & (table.arm == arm)
                ]
                if row.empty:
                    cells.append("")
                    continue
                text = f"{100 * row.iloc[0][metric]:.1f}"
                hit = _diff(diffs, s, size, model, arm, "none", metric)
                cells.append(f"{text} ({_interval(hit)})" if hit is not None else text)
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", f"| filtered vs size-matched, Δ {metric} | " + " | ".join(head[1:]) + " |"]
        lines.append("|" + "---|" * len(head))
        for fam in FAMILIES:
            cells = [f"{fam}_filtered vs {fam}_size_matched"]
            for s in sets:
                hit = _diff(diffs, s, size, model, f"{fam}_filtered", f"{fam}_size_matched", metric)
                cells.append(_interval(hit) if hit is not None else "not run")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    seeds = int(table.seeds.max())
    lines.append(
        f"{metric.upper()} in percent, mean over {seeds} seeds; in brackets the paired "
        "difference against `none` in points with its 95% bootstrap interval (seeds and test "
        "images resampled; a corrupted set resamples a test image with all its corrupted "
        "copies); **bold** where the interval excludes 0. A corrupted set's AUC is over all its "
        "rows pooled (every corruption of the family at every severity)."
    )
    return "\n".join(lines) + "\n"


def _diff(
    diffs: pd.DataFrame, dataset: str, size: str, model: str, arm: str, base: str, metric: str
) -> pd.Series | None:
    hit = diffs[
        (diffs.dataset == dataset)
        & (diffs["size"] == size)
        & (diffs.model == model)
        & (diffs.arm == arm)
        & (diffs.baseline == base)
        & (diffs.metric == metric)
    ]
    return hit.iloc[0] if len(hit) else None


def _interval(r: pd.Series) -> str:
    text = f"{100 * r['diff']:+.1f} [{100 * r['low']:+.1f}, {100 * r['high']:+.1f}]"
    return f"**{text}**" if r["low"] > 0 or r["high"] < 0 else text


def per_condition(result: BenchResult, metric: str = "auc") -> pd.DataFrame:
    """``metric`` of every trained model on every (corruption, severity) of the corrupted sets
    on its own (the MedMNIST-C way of scoring: one AUC per condition, not pooled): one row per
    trial and condition. The rows of a family's set are laid out corruption by corruption, then
    severity by severity, ``test_images`` rows each (see
    :func:`augment.bench.corruptions.corrupted_test_sets`)."""
    from augment.bench.stats import SCORE_METRICS, point

    rows = []
    for t in result.trials:
        info = result.meta.get("datasets", {}).get(t.dataset, {})
        if "corruptions" not in info:
            continue
        y, n = result.truth[t.dataset], int(info["test_images"])
        values = t.scores if metric in SCORE_METRICS else t.predictions
        block = 0
        for name in info["corruptions"]:
            for sev in info["severities"]:
                part = slice(block * n, (block + 1) * n)
                value = float(point(metric, y[part], values[None, part])[0])
                rows.append(
                    {
                        "model": t.model,
                        "size": t.size,
                        "arm": t.arm,
                        "seed": t.seed,
                        "family": t.dataset.split("/", 1)[1],
                        "corruption": name,
                        "severity": int(sev),
                        metric: value,
                    }
                )
                block += 1
    return pd.DataFrame(rows)


def condition_markdown(result: BenchResult, metric: str = "auc") -> str:
    """Per model and size: each arm's mean per-condition ``metric`` (:func:`per_condition`,
    averaged over seeds and the family's corruptions and severities), by family, over all
    conditions, and by severity over all corruptions. Means only, no intervals."""
    df = per_condition(result, metric)
    if df.empty:
        return ""
    lines = []
    for (size, model), sub in df.groupby(["size", "model"], sort=False):
        fams = list(dict.fromkeys(sub.family))
        sevs = sorted(set(sub.severity))
        head = ["arm", *fams, "all", *(f"severity {v}" for v in sevs)]
        lines += [f"### {model}, {size}: mean per-condition {metric.upper()}", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for arm in ARMS:
            a = sub[sub.arm == arm]
            if a.empty:
                continue
            cells = [arm]
            cells += [f"{100 * a[a.family == f][metric].mean():.1f}" for f in fams]
            cells.append(f"**{100 * a[metric].mean():.1f}**")
            cells += [f"{100 * a[a.severity == v][metric].mean():.1f}" for v in sevs]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(
        f"{metric.upper()} of each (corruption, severity) on its own, in percent, averaged over "
        "seeds and conditions (the MedMNIST-C way of scoring; a score shift between conditions "
        "costs nothing here, unlike the pooled table above). Means only: the intervals are in "
        "the pooled tables."
    )
    return "\n".join(lines) + "\n"


def plot(result: BenchResult, path: str | Path, metric: str = "auc") -> Path:
    """Forest plots: one row of panels per (model, size), one panel per test set, each arm's
    paired difference against ``none`` with its 95% interval."""
    d = result.differences()
    d = d[(d.baseline == "none") & (d.metric == metric)]
    settings = list(dict.fromkeys(zip(d["model"], d["size"])))
    sets = test_sets(result)
    rows, cols = max(1, len(settings)), max(1, len(sets))
    fig, axes = subplots(
        rows, cols, figsize=(2.6 * cols + 1.6, 0.6 + 2.6 * rows), squeeze=False, sharey=True
    )
    arms = [a for a in ARMS if a != "none"]
    ys = np.arange(len(arms))[::-1]
    for i, (model, size) in enumerate(settings):
        for j, s in enumerate(sets):
            ax = axes[i, j]
            sub = d[(d.model == model) & (d["size"] == size) & (d.dataset == s)].set_index("arm")
            sub = sub.reindex(arms)
            diff, lo, hi = (100 * sub[c].to_numpy(dtype=float) for c in ("diff", "low", "high"))
            colours = [
                "tab:green" if a > 0 else "tab:red" if b < 0 else "tab:gray" for a, b in zip(lo, hi)
            ]
            ax.errorbar(diff, ys, xerr=[diff - lo, hi - diff], fmt="none", ecolor=colours)
            ax.scatter(diff, ys, c=colours, zorder=3, s=14)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(ys, arms, fontsize=7)
            ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{model}, {size}: {_label(s)}", fontsize=8)
            if i == rows - 1:
                ax.set_xlabel(f"Δ {metric} vs none (points)", fontsize=7)
    return save_figure(fig, path)


def write(
    result: BenchResult, folder: str | Path, stem: str = "image_robustness", title: str = ""
) -> dict[str, Path]:
    """``{stem}.json`` (every figure), ``{stem}.md`` (the summary, then every table) and
    ``{stem}.png`` (:func:`plot`) in ``folder``. A hand-written part of an existing ``{stem}.md``
    between the lines ``<!-- notes -->`` and ``<!-- /notes -->`` (the method, the reading of
    the figures) is kept, after the title: a re-run replaces the figures, not the prose (which
    must then be checked against them)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes = _notes(folder / f"{stem}.md")
    paths = {"json": result.write_json(folder / f"{stem}.json")}
    paths["png"] = plot(result, folder / f"{stem}.png")
    md = [
        f"## {title or 'Image robustness: PneumoniaMNIST under MedMNIST-C corruptions'}",
        "",
        *([notes, ""] if notes else []),
        "## Results",
        "",
        summary_markdown(result),
        f"![differences against none]({stem}.png)",
        "",
        condition_markdown(result),
        result.to_markdown("Every table"),
    ]
    paths["markdown"] = folder / f"{stem}.md"
    paths["markdown"].write_text("\n".join(md))
    return paths


def _notes(path: Path) -> str:
    """The ``<!-- notes -->`` ... ``<!-- /notes -->`` block of ``path`` (markers included), or
    ``""``."""
    if not path.is_file():
        return ""
    text = path.read_text()
    start, end = text.find(NOTES_START), text.find(NOTES_END)
    return text[start : end + len(NOTES_END)] if 0 <= start < end else ""


NOTES_START, NOTES_END = "<!-- notes -->", "<!-- /notes -->"
