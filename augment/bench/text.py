"""Downstream text benchmark: what EDA augmentation, with and without the fidelity filter, does
to a classifier trained on a small sample of a ``label<TAB>text`` training file.

For every training size and seed the same original rows are sampled once; every arm (see
:mod:`augment.bench.arms`, plus ``targeted``) adds to them, each classifier's ``C`` is tuned on
that arm's own rows (:mod:`augment.bench.tuning`), and every model is scored on the whole test
file. Two classifiers that run on a CPU: TF-IDF (words and bigrams) + logistic regression, and
frozen all-MiniLM-L6-v2 embeddings + logistic regression.

``targeted`` spends the unfiltered arm's candidate budget by
:func:`augment.targeting.plan_by_balance` (variants go to the rarest classes, at most
``targeted_max_per_row`` per row) and keeps what the filter accepts. Where the sample is already
balanced (``10/class``) the plan is the uniform one and the arm would repeat ``filtered``, so it
is left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.augmenter import judge, make_candidates, variant_requests
from augment.bench.arms import originals, standard_arms, with_rows
from augment.bench.results import BenchResult, Trial
from augment.bench.tuning import C_GRID, TrainingSet, tune_and_fit
from augment.candidate import Source
from augment.io.text_files import read_labelled_text
from augment.targeting import plan_by_balance
from fidelity.filter import FidelityFilter
from fidelity.progress import progress

log = logging.getLogger(__name__)

#: Arms in the order they are reported.
ARMS = ("none", "duplicated", "unfiltered", "filtered", "size_matched", "targeted")
#: Comparisons reported with intervals.
PAIRS = tuple((a, "none") for a in ARMS[1:]) + (("filtered", "size_matched"),)
MODELS = ("tfidf", "minilm")
#: Constructor overrides of ``--quick``: a smoke run of every arm in under a minute (a coarser
#: C grid and 3 folds; not a result).
QUICK: dict[str, Any] = {
    "sizes": ("60", "5/class"),
    "seeds": 2,
    "n_variants": 4,
    "c_grid": (0.1, 1.0, 10.0, 100.0),
    "n_splits": 3,
}


def parse_size(size: str | int) -> tuple[int, bool]:
    """``"500"`` -> (500, False): 500 rows at random; ``"10/class"`` -> (10, True)."""
    m = re.fullmatch(r"\s*(\d+)\s*(/\s*class)?\s*", str(size))
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"size {size!r} is not 'N' (rows) or 'N/class' (rows per class)")
    return int(m.group(1)), bool(m.group(2))


def sample_rows(labels: np.ndarray, size: str | int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a training sample: ``N`` rows at random, or ``N`` rows of every class."""
    n, per_class = parse_size(size)
    if not per_class:
        if n > len(labels):
            raise ValueError(f"size {n} is larger than the {len(labels)} training rows")
        return np.sort(rng.choice(len(labels), size=n, replace=False))
    rows = []
    for c in np.unique(labels):
        pool = np.flatnonzero(labels == c)
        if len(pool) < n:
            raise ValueError(f"class {str(c)!r} has {len(pool)} training rows, fewer than {n}")
        rows.append(rng.choice(pool, size=n, replace=False))
    return np.sort(np.concatenate(rows))


@dataclass
class TextBenchmark:
    """One ``label<TAB>text`` train/test pair, benchmarked arm by arm.

    Parameters
    ----------
    train, test:
        ``label<TAB>text`` files; the training sample is drawn from ``train``, every model is
        scored on all of ``test``.
    name:
        The data set's name in tables (the training file's folder name by default).
    sizes:
        Training sizes: ``"500"`` (rows at random) and/or ``"10/class"``.
    seeds:
        How many training samples (and augmentation seeds) per size.
    n_variants, alpha:
        EDA candidates per row and the share of words each changes (the EDA paper's 16 and
        0.05 at 500 rows).
    models:
        ``"tfidf"`` and/or ``"minilm"``.
    fidelity_filter:
        The filter of the ``filtered`` and ``targeted`` arms; default band and MiniLM.
    checks:
        The checks of the default filter, by name or ``{"name": ..., **params}``
        (``["band", "label", "siblings"]``); default the band alone. A label check is fitted
        on each training sample (its rows and labels) before its variants are judged.
    """

    train: str | Path
    test: str | Path
    name: str | None = None
    sizes: Sequence[str] = ("500", "10/class")
    seeds: int = 10
    n_variants: int = 16
    alpha: float = 0.05
    models: Sequence[str] = MODELS
    fidelity_filter: FidelityFilter | None = None
    checks: Sequence[str | dict[str, Any]] | None = None
    targeted_max_per_row: int = 64
    c_grid: Sequence[float] = C_GRID
    n_splits: int = 4
    random_state: int = 0
    show_progress: bool | None = None
    _encoder: Any = field(default=None, init=False, repr=False)

    def _check(self) -> None:
        unknown = set(self.models) - set(MODELS)
        if unknown:
            raise ValueError(f"unknown model(s) {sorted(unknown)}; choose from {MODELS}")
        for s in self.sizes:
            parse_size(s)
        if self.seeds < 1 or self.n_variants < 1:
            raise ValueError("seeds and n_variants must be at least 1")

    def run(self, result: BenchResult | None = None) -> BenchResult:
        """Train and score every (size, seed, arm, model); adds to ``result`` when given."""
        from augment.text import TextPipeline
        from fidelity.encoders.text import TextEncoder

        self._check()
        train = read_labelled_text(self.train)
        test = read_labelled_text(self.test)
        name = self.name or Path(self.train).parent.name
        if train.empty or test.empty:
            raise ValueError(f"{name}: empty training or test file")
        flt = self.fidelity_filter or FidelityFilter(
            TextEncoder(cache_size=500_000), checks=self.checks
        )
        self._encoder = flt._encoder()
        result = result or new_result()
        result.truth[name] = test["label"].to_numpy()
        result.meta.setdefault("datasets", {})[name] = {
            "train": str(self.train),
            "test": str(self.test),
            "train_rows": len(train),
            "test_rows": len(test),
            "classes": int(train["label"].nunique()),
        }
        result.meta.update(self._settings(flt))
        pipeline = TextPipeline.from_preset("eda", alpha=self.alpha)
        test_features = {"tfidf": test["text"].tolist()}
        if "minilm" in self.models:
            test_features["minilm"] = self._encoder.encode(test["text"].tolist())
        labels = train["label"].to_numpy()
        total = len(self.sizes) * self.seeds
        with progress(total, f"bench {name}", "sample", self.show_progress, min_total=1) as bar:
            for size in self.sizes:
                for seed in range(self.seeds):
                    rng = np.random.default_rng([self.random_state, seed, _size_key(size)])
                    rows = sample_rows(labels, size, rng)
                    arms, extra = self._arms(train.iloc[rows], pipeline, flt, size, seed, rng)
                    for model in self.models:
                        for arm, data in arms.items():
                            result.add(
                                self._trial(
                                    name, size, model, arm, seed, data, test_features[model], extra
                                )
                            )
                    bar.update(1)
        return result

    def _settings(self, flt: FidelityFilter) -> dict[str, Any]:
        return {
            "augmentation": f"EDA preset, alpha {self.alpha}, {self.n_variants} variants per row",
            "filter": {
                "encoder": getattr(flt._encoder(), "name", "?"),
                "band": [flt.min_similarity, flt.max_similarity],
                "checks": [c.to_dict() for c in flt.checks],
            },
            "c_grid": list(self.c_grid),
            "cv": f"{self.n_splits} folds over original rows, stratified, variants on the "
            "training side with their source only",
            "seeds": self.seeds,
            "sizes": list(self.sizes),
        }

    def _arms(
        self,
        sample: pd.DataFrame,
        pipeline: Any,
        flt: FidelityFilter,
        size: str,
        seed: int,
        rng: np.random.Generator,
    ) -> tuple[dict[str, TrainingSet], dict[str, Any]]:
        texts, labels = sample["text"].tolist(), sample["label"].to_numpy()
        row_ids = sample.index.to_numpy()
        base = originals(texts, labels)
        plan = np.full(len(texts), self.n_variants)
        targeted = None
        if not parse_size(size)[1]:
            p = plan_by_balance(
                labels,
                len(texts) * self.n_variants,
                max_per_row=self.targeted_max_per_row,
                random_state=seed,
            )
            targeted = p["n_variants"].to_numpy()
            if np.array_equal(targeted, plan):
                targeted = None
        most = np.maximum(plan, targeted) if targeted is not None else plan
        # variant v of row rid has the seed sample_seed(seed, f"{random_state}:{rid}", v)
        sources = [
            Source(f"{self.random_state}:{rid}", text, label)
            for text, rid, label in zip(texts, row_ids, labels)
        ]
        if any(c.name == "label" for c in flt.checks):  # a label check learns from this sample
            flt.fit(texts, list(labels), ids=[s.id for s in sources])
        position = {s.id: j for j, s in enumerate(sources)}
        counts = {s.id: int(most[j]) for j, s in enumerate(sources)}
        made, failed = make_candidates(pipeline, variant_requests(sources, counts, seed))
        errors = len(failed)  # counted and reported; the row keeps its other variants
        cand = [c.payload for c in made]
        src = [position[c.source_id] for c in made]
        var = [c.variant for c in made]
        src_a, var_a = np.asarray(src, dtype=np.int64), np.asarray(var)
        verdicts = judge(
            pipeline,
            flt,
            [texts[j] for j in src],
            cand,
            labels=[c.label for c in made],
            source_ids=[c.source_id for c in made],
        )
        accepted = np.array([v.accepted for v in verdicts], dtype=bool)
        uniform = var_a < plan[src_a]
        u = np.flatnonzero(uniform)
        arms = standard_arms(
            base,
            [cand[i] for i in u],
            labels[src_a[u]],
            src_a[u],
            accepted[u],
            self.n_variants,
            rng,
        )
        if targeted is not None:
            t = np.flatnonzero((var_a < targeted[src_a]) & accepted)
            arms["targeted"] = with_rows(base, [cand[i] for i in t], labels[src_a[t]], src_a[t])
        reasons = pd.Series([v.reason.value for v in verdicts]).value_counts()
        extra = {
            "accept_rate": round(float(accepted[u].mean()), 4) if len(u) else float("nan"),
            "errors": errors,
            "reasons": {str(k): int(v) for k, v in reasons.items()},
        }
        return arms, extra

    def _trial(
        self,
        name: str,
        size: str,
        model: str,
        arm: str,
        seed: int,
        data: TrainingSet,
        test_x: Any,
        extra: dict[str, Any],
    ) -> Trial:
        from sklearn.linear_model import LogisticRegression

        if model == "minilm":
            data = TrainingSet(
                self._encoder.encode(list(data.items)), data.labels, data.source, data.original
            )
            featurize = None
        else:
            featurize = _tfidf
        lr = LogisticRegression(max_iter=2000)
        tuned, transform = tune_and_fit(
            lr, "C", self.c_grid, data, featurize, self.n_splits, random_state=seed
        )
        pred = tuned.model.predict(transform(test_x))
        info = {"accept_rate": extra["accept_rate"], "errors": extra["errors"]}
        return Trial(
            name, str(size), model, arm, seed, len(data), pred, param=tuned.param, extra=info
        )


def _tfidf(texts: Sequence[str]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    return vec.fit_transform(texts), vec.transform


def _size_key(size: str | int) -> int:
    n, per_class = parse_size(size)
    return n * 2 + int(per_class)


def new_result() -> BenchResult:
    """An empty result for text benchmarks (accuracy and macro-F1)."""
    return BenchResult("text", ("accuracy", "macro_f1"), PAIRS)


def notes(result: BenchResult) -> str:
    """A Markdown paragraph on how the text result was made, with the filter's accept rates."""
    m = result.meta
    trials = result.per_trial()
    lines = [
        "### How this was measured",
        "",
        "* Training samples: `N` = N rows at random, `N/class` = N rows of every class; a new "
        "sample per seed, the same for every arm of that seed. Scored on the whole test file.",
        f"* Augmentation: {m.get('augmentation', '?')} (seeded per row and variant). Filter: "
        f"{m.get('filter', {}).get('encoder', '?')}, band {m.get('filter', {}).get('band', '?')}.",
        "* Classifiers: `tfidf` = TF-IDF of words and bigrams (sublinear tf) + logistic "
        "regression; `minilm` = frozen all-MiniLM-L6-v2 embeddings + logistic regression. `C` "
        f"per arm from {m.get('c_grid', '?')}: {m.get('cv', '?')}.",
        "* `targeted` spends the unfiltered arm's budget by class balance (at most "
        "`targeted_max_per_row` per row) and keeps what the filter accepts; on balanced "
        "`N/class` samples it would repeat `filtered` and is left out.",
    ]
    if not trials.empty and "accept_rate" in trials:
        rate = trials.groupby(["dataset", "size"], sort=False)["accept_rate"].mean()
        lines.append(
            "* Share of candidates the filter accepted: "
            + ", ".join(f"{d} {s} {100 * r:.0f} %" for (d, s), r in rate.items())
            + "."
        )
    return "\n".join(lines) + "\n"
