"""Downstream text benchmark: what augmentation strategies, with and without fidelity filters, do
to a classifier trained on a small sample of a ``label<TAB>text`` training file.

For every training size and seed the same original rows are sampled once; every arm adds to
them: ``none`` and ``duplicated`` always, then one arm per strategy
(:mod:`augment.bench.strategies`: a pipeline, a filter, a budget and how it is spread) and the
size-matched control of each filtered strategy. Without a strategies file the first round's arms
run: ``unfiltered`` (EDA), ``filtered`` (EDA + band), ``size_matched`` and ``targeted`` (EDA +
band, the budget spread by class balance; left out where the plan is the uniform one).

Classifiers (:mod:`augment.bench.text_models`): ``tfidf`` and ``minilm`` (logistic regression,
``C`` tuned per arm on its own rows by log-loss), ``setfit`` and ``finetune`` (MiniLM fine-tuned
for a step budget tuned once per data set and size on the first seed's ``none`` arm, then fixed
for every arm and seed). Every model is scored on the whole test file (or on a stratified subset
of it fixed before anything trains, ``test_per_class``); a model that predicts one class for
everything is flagged ``degenerate``.

``targeting: weakness`` spends the strategy's candidate budget by
:func:`augment.targeting.plan_by_weakness`: per-class error of the ``none`` rows under grouped CV
of frozen-MiniLM + logistic regression (the cheap scout, whatever model is benchmarked).

The plan (data, sizes, strategies, models, primary metric, seeds, comparisons) goes into the
result before anything trains; ``on_update`` is called with the result then and after every
sample, so a caller can write it as it goes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.augmenter import judge, make_candidates, variant_requests
from augment.bench.arms import duplicated, originals, size_matched_rows, with_rows
from augment.bench.results import BenchResult, Trial
from augment.bench.strategies import (
    CALIBRATE,
    StrategySpec,
    arm_names,
    check_available,
    comparisons,
    for_sample,
    round_one,
)
from augment.bench.text_models import (
    FINE_TUNED,
    MODELS,
    QUICK_STEP_GRID,
    STEP_GRID,
    EncoderSettings,
    fine_tuned,
)
from augment.bench.tuning import (
    C_GRID,
    TrainingSet,
    choose,
    folds,
    is_degenerate,
    take,
    tune_and_fit,
    validation_loss,
)
from augment.candidate import Source
from augment.io.text_files import read_labelled_text
from augment.targeting import plan_by_balance, plan_by_weakness
from fidelity.filter import FidelityFilter
from fidelity.progress import progress

log = logging.getLogger(__name__)

#: The first round's arms in the order they are reported, and its comparisons.
ARMS = tuple(arm_names(round_one()))
PAIRS = tuple(comparisons(round_one()))
#: The metric the plan names as primary (the one the forest plot shows).
PRIMARY_METRIC = "macro_f1"
#: Constructor overrides of ``--quick``: a smoke run of every arm in under a minute (a coarser
#: C grid, 3 folds, a few fine-tuning steps; not a result).
QUICK: dict[str, Any] = {
    "sizes": ("60", "5/class"),
    "seeds": 2,
    "n_variants": 4,
    "c_grid": (0.1, 1.0, 10.0, 100.0),
    "n_splits": 3,
    "step_grid": QUICK_STEP_GRID,
    "step_splits": 2,
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
        scored on all of ``test`` (or on ``test_per_class`` rows of each class of it).
    name:
        The data set's name in tables (the training file's folder name by default).
    sizes:
        Training sizes: ``"500"`` (rows at random) and/or ``"10/class"``.
    seeds:
        How many training samples (and augmentation seeds) per size.
    n_variants, alpha:
        Candidates per row (a strategy may set its own) and the EDA share of words changed in
        the first round's strategies.
    models:
        Any of :data:`augment.bench.text_models.MODELS`.
    strategies:
        The strategies (:func:`augment.bench.strategies.load_strategies`); default the first
        round's.
    checks:
        Without ``strategies``: the checks of the first round's filtered arms, by name or
        ``{"name": ..., **params}`` (e.g. ``["band", "label", "siblings"]``; default the band).
        A label check is fitted on each training sample before its variants are judged.
    fidelity_filter:
        The band filter's encoder and default band; default band 0.70-0.98 on MiniLM.
    step_grid, step_splits:
        Step budgets the fine-tuned encoders are tuned over, and the grouped-CV folds of that
        tuning (on the first seed's ``none`` arm of each size).
    encoder_settings:
        Training settings of the fine-tuned encoders.
    on_update:
        Called with the result once the plan is in it (before any training) and after every
        sample.
    """

    train: str | Path
    test: str | Path
    name: str | None = None
    sizes: Sequence[str] = ("500", "10/class")
    seeds: int = 10
    n_variants: int = 16
    alpha: float = 0.05
    models: Sequence[str] = ("tfidf", "minilm")
    strategies: Sequence[StrategySpec] | None = None
    checks: Sequence[str | dict[str, Any]] | None = None
    fidelity_filter: FidelityFilter | None = None
    targeted_max_per_row: int = 64
    c_grid: Sequence[float] = C_GRID
    n_splits: int = 4
    step_grid: Sequence[int] = STEP_GRID
    step_splits: int = 3
    encoder_settings: EncoderSettings | None = None
    test_per_class: int | None = None
    random_state: int = 0
    show_progress: bool | None = None
    on_update: Callable[[BenchResult], None] | None = None
    _encoder: Any = field(default=None, init=False, repr=False)
    _budgets: dict[tuple[str, str], int] = field(default_factory=dict, init=False, repr=False)

    @property
    def arm_strategies(self) -> list[StrategySpec]:
        return list(self.strategies) if self.strategies else round_one(self.alpha, self.checks)

    def _check(self) -> dict[str, Any]:
        unknown = set(self.models) - set(MODELS)
        if unknown:
            raise ValueError(f"unknown model(s) {sorted(unknown)}; choose from {MODELS}")
        for s in self.sizes:
            parse_size(s)
        if self.seeds < 1 or self.n_variants < 1:
            raise ValueError("seeds and n_variants must be at least 1")
        if any(int(g) < 1 for g in self.step_grid):
            raise ValueError(f"step budgets must be >= 1, got {list(self.step_grid)}")
        return check_available(self.arm_strategies)

    def plan(self, name: str, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
        """What this benchmark will train and compare, fixed before anything trains."""
        tuned = [m for m in self.models if m in FINE_TUNED]
        return {
            "dataset": name,
            "train": str(self.train),
            "test": str(self.test),
            "train_rows": len(train),
            "test_rows": len(test),
            "classes": int(train["label"].nunique()),
            "sizes": [str(s) for s in self.sizes],
            "seeds": list(range(self.seeds)),
            "models": list(self.models),
            "strategies": [s.describe() for s in self.arm_strategies],
            "n_variants": self.n_variants,
            "arms": arm_names(self.arm_strategies),
            "comparisons": [list(p) for p in comparisons(self.arm_strategies)],
            "primary_metric": PRIMARY_METRIC,
            "metrics": ["accuracy", "macro_f1"],
            "test_per_class": self.test_per_class,
            "budget": (
                {
                    "models": tuned,
                    "step_grid": [int(g) for g in self.step_grid],
                    "tuned_on": f"arm none of seed 0, {self.step_splits}-fold grouped CV over "
                    "original rows, validation log-loss; ties to the grid's middle",
                    "head": "setfit's logistic head: C tuned per arm over c_grid as the frozen "
                    "models' (grouped CV over original rows, log-loss, ties to C = 1)",
                }
                if tuned
                else None
            ),
        }

    def run(self, result: BenchResult | None = None) -> BenchResult:
        """Train and score every (size, seed, arm, model); adds to ``result`` when given."""
        from fidelity.encoders.text import TextEncoder

        pipelines = self._check()
        train = read_labelled_text(self.train)
        test = read_labelled_text(self.test)
        name = self.name or Path(self.train).parent.name
        if train.empty or test.empty:
            raise ValueError(f"{name}: empty training or test file")
        if self.test_per_class is not None:
            test = test.iloc[_test_subset(test["label"].to_numpy(), self.test_per_class)]
        flt = self.fidelity_filter or FidelityFilter(TextEncoder(cache_size=500_000))
        self._encoder = flt._encoder()
        result = result or new_result()
        plan = self.plan(name, train, test)
        result.meta.setdefault("plan", {})[name] = plan
        result.meta["primary_metric"] = PRIMARY_METRIC
        result.pairs = list(
            dict.fromkeys([*map(tuple, result.pairs), *comparisons(self.arm_strategies)])
        )
        result.truth[name] = test["label"].to_numpy()
        result.meta.setdefault("datasets", {})[name] = {
            k: plan[k] for k in ("train", "test", "train_rows", "test_rows", "classes")
        }
        result.meta.update(self._settings(flt))
        if self.on_update is not None:
            self.on_update(result)  # the plan is on disk before anything trains
        test_texts = test["text"].tolist()
        test_features: dict[str, Any] = {m: test_texts for m in self.models}
        if "minilm" in self.models:
            test_features["minilm"] = self._encoder.encode(test_texts)
        labels = train["label"].to_numpy()
        total = len(self.sizes) * self.seeds
        with progress(total, f"bench {name}", "sample", self.show_progress, min_total=1) as bar:
            for size in self.sizes:
                for seed in range(self.seeds):
                    rng = np.random.default_rng([self.random_state, seed, _size_key(size)])
                    rows = sample_rows(labels, size, rng)
                    arms, extra = self._arms(train.iloc[rows], pipelines, flt, seed, rng)
                    for model in self.models:
                        if model in FINE_TUNED and (str(size), model) not in self._budgets:
                            self._tune_budget(result, name, str(size), model, arms["none"], seed)
                        for arm, data in arms.items():
                            result.add(
                                self._trial(
                                    name,
                                    size,
                                    model,
                                    arm,
                                    seed,
                                    data,
                                    test_features[model],
                                    extra.get(arm, {}),
                                )
                            )
                    if self.on_update is not None:
                        self.on_update(result)
                    bar.update(1)
        return result

    def _settings(self, flt: FidelityFilter) -> dict[str, Any]:
        return {
            "augmentation": "; ".join(
                f"{s.name}: {s.describe()['pipeline']}, {s.n_variants or self.n_variants} "
                f"variants per row ({s.targeting}), filter {s.describe()['filter']}"
                for s in self.arm_strategies
            ),
            "filter": {
                "encoder": getattr(flt._encoder(), "name", "?"),
                "band": [flt.min_similarity, flt.max_similarity],
            },
            "c_grid": list(self.c_grid),
            "cv": f"{self.n_splits} folds over original rows, stratified, variants on the "
            "training side with their source only; validation log-loss, ties to C = 1",
            "models": {
                m: fine_tuned(m, self.encoder_settings).describe()
                for m in self.models
                if m in FINE_TUNED
            },
            "seeds": self.seeds,
            "sizes": list(self.sizes),
        }

    # ------------------------------------------------------------------ arms
    def _plans(
        self, base: TrainingSet, seed: int
    ) -> tuple[dict[str, np.ndarray | None], dict[str, str]]:
        """Variants per row for each strategy; ``None`` (and a note) where a targeted plan is
        the uniform one and the arm would repeat its twin."""
        n = len(base)
        plans: dict[str, np.ndarray | None] = {}
        notes: dict[str, str] = {}
        weakness: pd.DataFrame | None = None
        for s in self.arm_strategies:
            k = s.n_variants or self.n_variants
            uniform = np.full(n, k)
            if s.targeting == "uniform":
                plans[s.name] = uniform
                continue
            if s.targeting == "balance":
                p = plan_by_balance(
                    base.labels, n * k, max_per_row=self.targeted_max_per_row, random_state=seed
                )
            else:
                if weakness is None:
                    weakness = self._none_errors(base, seed)
                p = plan_by_weakness(
                    weakness,
                    "label",
                    n * k,
                    correct="correct",
                    max_per_row=self.targeted_max_per_row,
                    random_state=seed,
                )
            counts = p["n_variants"].to_numpy()
            if np.array_equal(counts, uniform):
                plans[s.name] = None
                notes[s.name] = f"{s.targeting} plan is the uniform one: arm not run"
            else:
                plans[s.name] = counts
        return plans, notes

    def _none_errors(self, base: TrainingSet, seed: int) -> pd.DataFrame:
        """Per original row: its label and whether frozen-MiniLM + logistic regression (``C``
        tuned as everywhere) got it right when it was held out (grouped CV)."""
        from sklearn.linear_model import LogisticRegression

        x = self._encoder.encode(list(base.items))
        data = TrainingSet(x, base.labels, base.source, base.original)
        tuned, _ = tune_and_fit(
            LogisticRegression(max_iter=2000), "C", self.c_grid, data, None, self.n_splits, seed
        )
        correct = np.full(len(base), 0.5)  # a row never held out counts as a coin toss
        for tr, va in folds(data, self.n_splits, seed):
            lr = LogisticRegression(C=tuned.param, max_iter=2000).fit(x[tr], base.labels[tr])
            correct[va] = lr.predict(x[va]) == base.labels[va]
        return pd.DataFrame({"label": base.labels, "correct": correct})

    def _filter(
        self,
        s: StrategySpec,
        flt: FidelityFilter,
        sources: list[str],
        candidates: list[str],
        labels: np.ndarray,
    ) -> tuple[Any, dict[str, Any]]:
        """The filter a strategy names, built for this sample (a calibrated band from the
        training rows and their candidates; label checks fitted on the training rows)."""
        from fidelity import calibrate

        band = {"min_similarity": flt.min_similarity, "max_similarity": flt.max_similarity}
        checks = []
        info: dict[str, Any] = {}
        for c in s.filter:
            params = dict(c.params)
            if c.name == "band":
                if params.pop(CALIBRATE, False) and candidates:
                    cal = calibrate(sources, candidates, labels, encoder=self._encoder)
                    params = {
                        "min_similarity": cal.band.min_similarity,
                        "max_similarity": cal.band.max_similarity,
                        **params,
                    }
                    info["band"] = [
                        round(params["min_similarity"], 4),
                        round(params["max_similarity"], 4),
                    ]
                band.update(params)
            else:
                checks.append({"name": c.name, **params})
        if not checks:
            return FidelityFilter(self._encoder, **band), info
        return FidelityFilter(self._encoder, **band, checks=["band", *checks]), info

    def _arms(
        self,
        sample: pd.DataFrame,
        pipelines: dict[str, Any],
        flt: FidelityFilter,
        seed: int,
        rng: np.random.Generator,
    ) -> tuple[dict[str, TrainingSet], dict[str, dict[str, Any]]]:
        texts, labels = sample["text"].tolist(), sample["label"].to_numpy()
        row_ids = sample.index.to_numpy()
        base = originals(texts, labels)
        plans, notes = self._plans(base, seed)
        strategies = self.arm_strategies
        arms: dict[str, TrainingSet] = {
            "none": base,
            "duplicated": duplicated(base, self.n_variants),
        }
        extra: dict[str, dict[str, Any]] = {s: {"note": n} for s, n in notes.items()}
        # variant v of row rid has the seed sample_seed(seed, f"{random_state}:{rid}", v)
        sources = [Source(f"{self.random_state}:{rid}", text) for text, rid in zip(texts, row_ids)]
        position = {src.id: j for j, src in enumerate(sources)}
        for key, pipeline in pipelines.items():
            group = [s for s in strategies if s.pipeline.key() == key and plans[s.name] is not None]
            if not group:
                continue
            most = np.max([plans[s.name] for s in group], axis=0)
            counts = {src.id: int(most[j]) for j, src in enumerate(sources)}
            pipeline = for_sample(pipeline, texts, labels)
            made, failed = make_candidates(pipeline, variant_requests(sources, counts, seed))
            cand = [c.payload for c in made]
            src_a = np.asarray([position[c.source_id] for c in made], dtype=np.int64)
            var_a = np.asarray([c.variant for c in made], dtype=np.int64)
            judged: dict[str, tuple[np.ndarray, dict[str, Any], pd.Series]] = {}
            for s in group:
                mask = var_a < plans[s.name][src_a] if len(made) else np.zeros(0, dtype=bool)
                info: dict[str, Any] = {"errors": len(failed)}
                keep = np.flatnonzero(mask)
                if s.filtered:
                    fkey = s.filter_key()
                    if fkey not in judged:
                        judged[fkey] = self._judge(
                            s, pipeline, flt, texts, labels, row_ids, cand, src_a
                        )
                    accepted, finfo, reasons = judged[fkey]
                    keep = np.flatnonzero(mask & accepted)
                    info["accept_rate"] = (
                        round(float(accepted[mask].mean()), 4) if mask.any() else float("nan")
                    )
                    info.update(finfo)
                    info["reasons"] = {
                        str(k): int(v) for k, v in reasons[mask].value_counts().items()
                    }
                arms[s.name] = with_rows(base, take(cand, keep), labels[src_a[keep]], src_a[keep])
                extra[s.name] = info
                if s.control_name:
                    pool = np.flatnonzero(mask)
                    match = pool[size_matched_rows(len(pool), len(keep), rng)]
                    arms[s.control_name] = with_rows(
                        base, take(cand, match), labels[src_a[match]], src_a[match]
                    )
                    extra[s.control_name] = {"errors": len(failed), "control_of": s.name}
        order = arm_names(strategies)
        return {a: arms[a] for a in order if a in arms}, extra

    def _judge(
        self,
        s: StrategySpec,
        pipeline: Any,
        flt: FidelityFilter,
        texts: list[str],
        labels: np.ndarray,
        row_ids: np.ndarray,
        cand: list[str],
        src_a: np.ndarray,
    ) -> tuple[np.ndarray, dict[str, Any], pd.Series]:
        """Accepted mask, filter notes and rejection reasons of every candidate under the
        strategy's filter (constraint checks of the pipeline first)."""
        pair_sources = [texts[j] for j in src_a]
        built, info = self._filter(s, flt, pair_sources, cand, labels[src_a])
        ids = [f"{self.random_state}:{r}" for r in row_ids]
        if any(c.name == "label" for c in getattr(built, "checks", ())):
            built.fit(texts, list(labels), ids=ids)  # a label check learns from this sample
        verdicts = judge(
            pipeline,
            built,
            pair_sources,
            cand,
            list(range(len(cand))),
            labels=list(labels[src_a]),
            source_ids=[ids[j] for j in src_a],
        )
        accepted = np.array([v.accepted for v in verdicts], dtype=bool)
        reasons = pd.Series([v.reason.value for v in verdicts], dtype=object)
        return accepted, info, reasons

    # ------------------------------------------------------------------ models
    def _tune_budget(
        self, result: BenchResult, name: str, size: str, model: str, none: TrainingSet, seed: int
    ) -> None:
        """Choose ``model``'s step budget for this size on the ``none`` arm (grouped CV over
        original rows, validation log-loss at each checkpoint of one run per fold) and fix it."""
        clf = fine_tuned(model, self.encoder_settings)
        grid = sorted(int(g) for g in self.step_grid)
        splits = folds(none, self.step_splits, seed)
        totals, n_val = np.zeros(len(grid)), 0
        for tr, va in splits:
            val_texts, val_y = take(none.items, va), none.labels[va]
            got: dict[int, float] = {}

            def score(step: int, fitted: Any, val_texts=val_texts, val_y=val_y, got=got) -> None:
                got[step] = validation_loss(val_y, fitted.predict_proba(val_texts), fitted.classes_)

            clf.train(take(none.items, tr), none.labels[tr], grid[-1], seed, grid, score)
            totals += np.array([got[g] for g in grid]) * len(va)
            n_val += len(va)
        default = grid[len(grid) // 2]
        losses = totals / n_val if n_val else np.full(len(grid), np.nan)
        steps = choose(grid, losses, default) if n_val else default
        self._budgets[(size, model)] = steps
        result.meta.setdefault("budgets", {}).setdefault(name, {}).setdefault(size, {})[model] = {
            "steps": steps,
            "grid": grid,
            "cv_log_loss": {str(g): round(float(v), 4) for g, v in zip(grid, losses)},
            "folds": len(splits),
            "tuned_on": f"none, seed {seed}",
        }

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
        info = {k: extra[k] for k in ("accept_rate", "errors") if k in extra}
        if model in FINE_TUNED:
            steps = self._budgets[(str(size), model)]
            fitted = fine_tuned(model, self.encoder_settings).train(
                list(data.items), data.labels, steps, seed
            )
            param: Any = steps
            if hasattr(fitted, "with_tuned_head"):  # SetFit: the head's C tuned per arm
                fitted, c = fitted.with_tuned_head(data, self.c_grid, self.n_splits, seed)
                param = f"{steps} steps, C={c:g}"
            pred = fitted.classes_[np.argmax(fitted.predict_proba(test_x), axis=1)]
        else:
            from sklearn.linear_model import LogisticRegression

            featurize = None
            if model == "minilm":
                data = TrainingSet(
                    self._encoder.encode(list(data.items)), data.labels, data.source, data.original
                )
            else:
                featurize = _tfidf
            lr = LogisticRegression(max_iter=2000)
            tuned, transform = tune_and_fit(
                lr, "C", self.c_grid, data, featurize, self.n_splits, random_state=seed
            )
            pred = tuned.model.predict(transform(test_x))
            param = tuned.param
        info["degenerate"] = is_degenerate(pred)
        return Trial(name, str(size), model, arm, seed, len(data), pred, param=param, extra=info)


def _test_subset(labels: np.ndarray, per_class: int) -> np.ndarray:
    """A fixed stratified subset of the test rows: ``per_class`` of each class (all of a smaller
    class), drawn once with a seed of its own, before anything trains."""
    rng = np.random.default_rng([12345, per_class])
    rows = []
    for c in np.unique(labels):
        pool = np.flatnonzero(labels == c)
        rows.append(pool if len(pool) <= per_class else rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(rows))


def _tfidf(texts: Sequence[str]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    return vec.fit_transform(texts), vec.transform


def _size_key(size: str | int) -> int:
    n, per_class = parse_size(size)
    return n * 2 + int(per_class)


def new_result() -> BenchResult:
    """An empty result for text benchmarks (accuracy and macro-F1); each benchmark run adds its
    planned comparisons."""
    return BenchResult("text", ("accuracy", "macro_f1"), [])


def notes(result: BenchResult) -> str:
    """A Markdown paragraph on how the text result was made: strategies, models and their
    budgets, the filter's accept rates, degenerate models."""
    m = result.meta
    trials = result.per_trial()
    lines = [
        "### How this was measured",
        "",
        "* Training samples: `N` = N rows at random, `N/class` = N rows of every class; a new "
        "sample per seed, the same for every arm of that seed. Scored on the whole test file"
        + (
            ""
            if not any(p.get("test_per_class") for p in m.get("plan", {}).values())
            else " (or on the fixed stratified test subset the plan names)"
        )
        + ".",
        f"* Strategies: {m.get('augmentation', '?')}. Band filter: "
        f"{m.get('filter', {}).get('encoder', '?')}, band {m.get('filter', {}).get('band', '?')} "
        "unless a strategy sets or calibrates its own. Every filtered strategy has a "
        "size-matched control (as many of the same pipeline's unfiltered candidates, at random).",
        "* Classifiers: `tfidf` = TF-IDF of words and bigrams (sublinear tf) + logistic "
        "regression; `minilm` = frozen all-MiniLM-L6-v2 embeddings + logistic regression. `C` "
        f"per arm from {m.get('c_grid', '?')}: {m.get('cv', '?')}.",
    ]
    for model, text in m.get("models", {}).items():
        lines.append(f"* `{model}`: {text}.")
    for dataset, by_size in m.get("budgets", {}).items():
        for size, by_model in by_size.items():
            for model, b in by_model.items():
                lines.append(
                    f"* Budget of `{model}` on {dataset} {size}: **{b['steps']} steps** for every "
                    f"arm and seed (chosen from {b['grid']} on {b['tuned_on']}, {b['folds']}-fold "
                    f"grouped CV log-loss {b['cv_log_loss']})."
                )
    if not trials.empty and "accept_rate" in trials:
        rate = (
            trials.dropna(subset=["accept_rate"])
            .groupby(["dataset", "size", "arm"], sort=False)["accept_rate"]
            .mean()
        )
        lines.append(
            "* Share of candidates the filter accepted: "
            + ", ".join(f"{d} {s} {a} {100 * r:.0f} %" for (d, s, a), r in rate.items())
            + "."
        )
    if not trials.empty and "degenerate" in trials:
        bad = trials[trials["degenerate"].fillna(False).astype(bool)]
        lines.append(
            "* Degenerate models (one predicted class for every test row): "
            + (
                ", ".join(
                    f"{r.dataset} {r['size']} {r.model} {r.arm} seed {r.seed}"
                    for _, r in bad.iterrows()
                )
                if len(bad)
                else "none"
            )
            + "."
        )
    return "\n".join(lines) + "\n"
