"""What a downstream benchmark measured: every trained model's predictions, the tables and
intervals made from them, and the Markdown, JSON and PNG they are written as."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.bench.stats import SCORE_METRICS, paired_bootstrap, point, resample_weights
from augment.io.json_values import json_default
from fidelity.plotting import save_figure, subplots

#: Columns that name one setting: a data set, a training size and a classifier.
SETTING = ["dataset", "size", "model"]


@dataclass
class Trial:
    """One model trained on one arm's training set for one seed, scored on the test set."""

    dataset: str
    size: str
    model: str
    arm: str
    seed: int
    n_train: int
    predictions: np.ndarray
    scores: np.ndarray | None = None
    param: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchResult:
    """Trials of one benchmark, with the test labels of each data set.

    ``pairs`` are the comparisons reported with intervals: ``(arm, baseline)``, e.g.
    ``("filtered", "none")`` and ``("filtered", "size_matched")``. ``groups`` (optional, per data
    set) names the cluster of each test row, for a test set whose rows are not independent (the
    corrupted copies of one image): its bootstrap resamples clusters, not rows.
    """

    task: str
    metrics: Sequence[str]
    pairs: Sequence[tuple[str, str]]
    meta: dict[str, Any] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    trials: list[Trial] = field(default_factory=list)
    n_resamples: int = 2000
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    _differences: tuple[Any, pd.DataFrame] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def add(self, trial: Trial) -> None:
        if trial.dataset not in self.truth:
            raise KeyError(f"no test labels for data set {trial.dataset!r}: set truth first")
        self.trials.append(trial)

    def _values(self, t: Trial, metric: str) -> np.ndarray:
        if metric in SCORE_METRICS:
            if t.scores is None:
                raise ValueError(f"{metric} needs scores; trial {t.arm}/{t.seed} has none")
            return t.scores
        return t.predictions

    # ------------------------------------------------------------------ tables
    def per_trial(self) -> pd.DataFrame:
        """One row per trained model: its setting, arm, seed, training size, chosen parameter
        and every metric on the full test set."""
        rows = []
        for t in self.trials:
            y = self.truth[t.dataset]
            row = {
                "dataset": t.dataset,
                "size": t.size,
                "model": t.model,
                "arm": t.arm,
                "seed": t.seed,
                "n_train": t.n_train,
                "param": t.param,
            }
            for m in self.metrics:
                row[m] = float(point(m, y, self._values(t, m)[None, :])[0])
            row.update(t.extra)
            rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> pd.DataFrame:
        """Mean and standard deviation of each metric per setting and arm, over seeds."""
        df = self.per_trial()
        if df.empty:
            return df
        g = df.groupby([*SETTING, "arm"], sort=False)
        out = g.agg(seeds=("seed", "nunique"), n_train=("n_train", "mean"))
        for m in self.metrics:
            out[m] = g[m].mean()
            out[f"{m}_sd"] = g[m].std(ddof=1)
        out["param"] = g["param"].agg(_mode)
        if "degenerate" in df:
            out["degenerate"] = g["degenerate"].agg(_count_true)
        return out.reset_index()

    def differences(self) -> pd.DataFrame:
        """For each setting, pair and metric: the mean paired difference and its bootstrap
        interval (seeds and test rows resampled together). Computed once per set of trials
        (``write`` needs it three times)."""
        key = (
            tuple(map(id, self.trials)),
            self.n_resamples,
            tuple(map(tuple, self.pairs)),
            tuple(self.metrics),
            tuple((d, len(y)) for d, y in self.truth.items()),
            tuple((d, len(g)) for d, g in self.groups.items()),
        )
        if self._differences is None or self._differences[0] != key:
            self._differences = (key, self._compute_differences())
        return self._differences[1].copy()

    def _compute_differences(self) -> pd.DataFrame:
        rows = []
        by_setting: dict[tuple, dict[str, dict[int, Trial]]] = {}
        for t in self.trials:
            by_setting.setdefault((t.dataset, t.size, t.model), {}).setdefault(t.arm, {})[
                t.seed
            ] = t
        weights = {
            d: resample_weights(len(y), self.n_resamples, groups=self.groups.get(d))
            for d, y in self.truth.items()
        }
        for (dataset, size, model), arms in by_setting.items():
            y = self.truth[dataset]
            for arm, base in self.pairs:
                if arm not in arms or base not in arms:
                    continue
                seeds = sorted(set(arms[arm]) & set(arms[base]))
                if not seeds:
                    continue
                for m in self.metrics:
                    a = np.stack([self._values(arms[arm][s], m) for s in seeds])
                    b = np.stack([self._values(arms[base][s], m) for s in seeds])
                    r = paired_bootstrap(m, y, a, b, weights=weights[dataset])
                    rows.append(
                        {
                            "dataset": dataset,
                            "size": size,
                            "model": model,
                            "arm": arm,
                            "baseline": base,
                            "metric": m,
                            "seeds": len(seeds),
                            **r,
                        }
                    )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """Every figure: settings, per-trial metrics, the summary table and the intervals."""
        return {
            "task": self.task,
            "meta": self.meta,
            "metrics": list(self.metrics),
            "pairs": [list(p) for p in self.pairs],
            "bootstrap_resamples": self.n_resamples,
            "table": _records(self.table()),
            "differences": _records(self.differences()),
            "trials": _records(self.per_trial()),
        }

    def to_markdown(self, title: str | None = None) -> str:
        """Tables per data set, size and classifier: each arm's metrics (mean ± sd over seeds)
        and its paired difference against the first pair's baseline (``none``) with the 95%
        interval, then the other paired comparisons (``filtered vs size_matched``, ...)."""
        table, diffs = self.table(), self.differences()
        lines = [f"## {title or self.task}", ""]
        for who, figures in self.meta.get("reference", {}).items():
            said = "; ".join(f"{k}: {v}" for k, v in figures.items())
            lines += [f"Reference point, {who}: {said}.", ""]
        if table.empty:
            return "\n".join([*lines, "No trials.", ""])
        for (dataset, size, model), tab in table.groupby(SETTING, sort=False):
            lines += [f"### {dataset}, {size}, {model}", ""]
            d = diffs[(diffs.dataset == dataset) & (diffs["size"] == size) & (diffs.model == model)]
            first = self.pairs[0][1] if self.pairs else None
            head = ["arm", "rows", *self.metrics]
            head += [f"Δ {m} vs {first}" for m in self.metrics] if first else []
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for _, r in tab.iterrows():
                bad = int(r.get("degenerate", 0) or 0)
                arm = f"{r.arm} ⚠ {bad}/{r.seeds} degenerate" if bad else r.arm
                cells = [arm, f"{r.n_train:,.0f}"]
                cells += [_mean_sd(r[m], r[f"{m}_sd"]) for m in self.metrics]
                for m in self.metrics if first else []:
                    hit = d[(d.arm == r.arm) & (d.baseline == first) & (d.metric == m)]
                    cells.append(_interval(hit.iloc[0]) if len(hit) else "")
                lines.append("| " + " | ".join(str(c) for c in cells) + " |")
            ran = set(tab.arm)
            others = [
                (a, b) for a, b in self.pairs if b != first or a not in ran
            ]  # every planned comparison: the ones not in the table above, run or not
            if others:
                lines += [
                    "",
                    "| paired comparison | " + " | ".join(f"Δ {m}" for m in self.metrics) + " |",
                    "|" + "---|" * (1 + len(self.metrics)),
                ]
                for a, b in others:
                    cells = [f"{a} vs {b}"]
                    for m in self.metrics:
                        hit = d[(d.arm == a) & (d.baseline == b) & (d.metric == m)]
                        cells.append(_interval(hit.iloc[0]) if len(hit) else "not run")
                    lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        lines.append(
            f"Metrics in percent, mean ± sd over {int(table.seeds.max())} seeds; Δ is the mean "
            "paired difference in points with its 95% bootstrap interval "
            f"({self.n_resamples:,} resamples of seeds and test rows); **bold** where the "
            "interval excludes 0."
        )
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path, metric: str | None = None, baseline: str = "none") -> Path:
        """A forest plot per setting: each arm's difference against ``baseline`` with its 95%
        interval, in points."""
        metric = metric or self.metrics[0]
        d = self.differences()
        d = d[(d.baseline == baseline) & (d.metric == metric)]
        settings = list(d.groupby(SETTING, sort=False).groups)
        n = max(1, len(settings))
        cols = min(n, 2)
        rows = (n + cols - 1) // cols
        fig, axes = subplots(rows, cols, figsize=(6.4 * cols, 0.5 + 0.45 * rows * 7), squeeze=False)
        for ax, key in zip(axes.flat, settings):
            sub = d[(d.dataset == key[0]) & (d["size"] == key[1]) & (d.model == key[2])]
            ys = np.arange(len(sub))[::-1]
            diff, lo, hi = (100 * sub[c].to_numpy() for c in ("diff", "low", "high"))
            colours = [
                "tab:green" if a > 0 else "tab:red" if b < 0 else "tab:gray" for a, b in zip(lo, hi)
            ]
            ax.errorbar(diff, ys, xerr=[diff - lo, hi - diff], fmt="none", ecolor=colours)
            ax.scatter(diff, ys, c=colours, zorder=3)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(ys, sub.arm.tolist())
            ax.set_title(f"{key[0]}, {key[1]}, {key[2]}", fontsize=10)
            ax.set_xlabel(f"Δ {metric} vs {baseline} (points, 95% CI)")
        for ax in list(axes.flat)[len(settings) :]:
            ax.set_visible(False)
        return save_figure(fig, path)

    def write_json(self, path: str | Path) -> Path:
        """Every figure (and the plan, once a benchmark has put it in ``meta``) as JSON, written
        atomically: called before training and as trials come in, it always holds a whole
        file."""
        from augment.io.atomic import atomic_write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=1, default=json_default) + "\n"
        return atomic_write_text(path, text)

    def write(self, folder: str | Path, stem: str, title: str | None = None) -> dict[str, Path]:
        """``{stem}.json``, ``{stem}.md`` and ``{stem}.png`` in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": self.write_json(folder / f"{stem}.json"),
            "markdown": folder / f"{stem}.md",
        }
        paths["png"] = self.plot(folder / f"{stem}.png", self.meta.get("primary_metric"))
        md = self.to_markdown(title) + f"\n![differences against none]({stem}.png)\n"
        paths["markdown"].write_text(md)
        return paths


def _mean_sd(mean: float, sd: float) -> str:
    return f"{100 * mean:.1f}" if np.isnan(sd) else f"{100 * mean:.1f} ± {100 * sd:.1f}"


def _interval(r: pd.Series) -> str:
    text = f"{100 * r['diff']:+.1f} [{100 * r['low']:+.1f}, {100 * r['high']:+.1f}]"
    return f"**{text}**" if r["low"] > 0 or r["high"] < 0 else text


def _count_true(values: pd.Series) -> int:
    return int(values.fillna(False).astype(bool).sum())


def _mode(values: pd.Series) -> Any:
    counts = values.astype(str).value_counts()
    return counts.index[0] if len(counts) else None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records")) if not df.empty else []
