"""Downstream persona benchmark: does augmenting a thinned customer segment help a churn model on
that segment, and does the library's filtered persona path beat the usual oversamplers?

Data: ``telco_churn.csv`` (7,043 customers; the 11 without ``total_charges`` are left out). The
segment is the senior citizens (16 % of customers, churn 42 % against 24 % for the others).

Design
------
* **One fixed split** (``test_size``, stratified by segment x churn, ``random_state``) for every
  seed. The scored test set is the seniors of the test part (343 customers); its non-seniors are
  scored as a second setting, a control that the added senior rows do not cost the rest.
  The split is fixed because the paired bootstrap of :mod:`augment.bench.stats` needs every seed's
  predictions on the same test rows; it resamples those rows, which stands for drawing another
  test set, and it resamples seeds, which stands for another thinning and augmentation draw.
* **Per seed**, the training part keeps all its non-seniors and ``segment_rows`` (50) of its
  seniors drawn at random; the other seniors of the training part are never seen (except by the
  ``real_seniors`` reference arm). Every generator is fitted on this thinned part only.
* **Arms** add ``n_added`` rows to the same thinned part: 700, nearly as many seniors as the
  thinning removed (749, so that ``real_seniors`` can add as many real ones), which brings the
  segment back to 15 % of the training part (16 % in the population):

  ``none``                   the thinned training part alone.
  ``duplicated``             the 50 seniors repeated to ``n_added`` rows (each 14 times): more
                             senior rows and no new information.
  ``random_oversampling``    ``n_added`` seniors drawn with replacement from the 50.
  ``smote_nc``               ``n_added`` SMOTE-NC rows (``PersonaSynthesizer(method="smote")``,
                             the first ``n_added`` candidates drawn, not filtered).
  ``personas_unfiltered``    every candidate the Gaussian copula drew for ``personas``.
  ``personas``               ``n_added`` copula personas accepted by the segment filter (what
                             the library recommends).
  ``personas_size_matched``  as many unfiltered candidates as ``personas`` kept, at random: the
                             filter is credited only for *which* rows it keeps.
  ``real_seniors``           ``n_added`` of the seniors the thinning removed, put back: a
                             reference for what real rows would give, not an option a user has.
                             Added like the made-up rows (training side of every fold), so every
                             arm of a seed is tuned on the same validation rows.

  The synthesizers model every column, the churn label included, so made-up rows bring their
  own label. Duplicates and oversampled rows keep their source row (cross-validation keeps them
  on their source's side); SMOTE-NC rows and personas have source -1 (training rows in every
  fold).
* **Classifier**: logistic regression on standardised numbers and one-hot categories (a
  ``ColumnTransformer`` fitted inside every fold), ``class_weight=None`` so that the tuning
  criterion (accuracy) and the model agree, and differences in recall come from the rows added
  rather than from a reweighting that every arm would share; ``C`` is tuned per arm on
  ``C_GRID`` by :func:`augment.bench.tuning.tune_and_fit`.
* **Metrics**: recall, F1 (churn = 1) and accuracy on the test seniors (and non-seniors).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from augment.bench.arms import originals, size_matched_rows, with_rows
from augment.bench.results import BenchResult, Trial
from augment.bench.tuning import C_GRID, TrainingSet, tune_and_fit
from fidelity.progress import progress

log = logging.getLogger(__name__)

#: Arms in the order they are reported.
ARMS = (
    "none",
    "duplicated",
    "random_oversampling",
    "smote_nc",
    "personas_unfiltered",
    "personas",
    "personas_size_matched",
    "real_seniors",
)
#: Comparisons reported with intervals.
PAIRS = tuple((a, "none") for a in ARMS[1:]) + (
    ("personas", "personas_size_matched"),
    ("personas", "smote_nc"),
    ("personas", "random_oversampling"),
)
METRICS = ("recall", "f1", "accuracy")
LABEL, POSITIVE = "churn", "Yes"
SEGMENT = {"senior_citizen": 1}
FORMULA = "total_charges ~ tenure * monthly_charges"
DATASET = "telco_churn"
SCORED = f"{DATASET}: test seniors"
CONTROL = f"{DATASET}: test non-seniors (control)"
MODEL = "logistic regression"

#: Constructor overrides of the quick mode (``augment bench persona --quick``).
QUICK: dict[str, Any] = {"seeds": 3}


@dataclass
class Split:
    """The table (rows with missing values left out, index 0..n-1), its fixed split, and how a
    row becomes a feature row: its numbers, then one 0/1 column per category value of the table
    (a fixed vocabulary, not fitted: a value no training row has gets a zero coefficient, as
    ``OneHotEncoder(handle_unknown="ignore")`` would give it)."""

    table: pd.DataFrame
    train: np.ndarray
    test: np.ndarray
    numeric: list[str]
    categories: dict[str, list[Any]]

    @cached_property
    def in_segment(self) -> np.ndarray:
        """Which table rows are in the segment (worked out once)."""
        return _in_segment(self.table)

    def items(self, rows: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Feature rows (the ``items`` of a :class:`TrainingSet`): numbers, then one-hot."""
        frame = self.table.iloc[rows] if isinstance(rows, np.ndarray) else rows
        blocks = [frame[self.numeric].to_numpy(dtype=np.float64)]
        for col, values in self.categories.items():
            v = frame[col].to_numpy(dtype=object)
            blocks.append(np.column_stack([v == c for c in values]).astype(np.float64))
        return np.hstack(blocks)

    def labels(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame[LABEL].to_numpy() == POSITIVE).astype(np.int64)

    def segment_column(self) -> int:
        """Position of the segment column among the numbers of a feature row."""
        return self.numeric.index(next(iter(SEGMENT)))


@dataclass
class PersonaBenchmark:
    """Churn within the senior-citizen segment, trained with that segment thinned to
    ``segment_rows`` rows; one arm per way of adding ``n_added`` senior rows (module docstring).

    Parameters
    ----------
    data:
        ``telco_churn.csv`` (passed in: the package knows no data location).
    segment_rows:
        Seniors kept in the training part per seed.
    seeds:
        Thinning draws (each with its own augmentation seeds).
    n_added:
        Rows every augmenting arm adds.
    test_size:
        Share of the table in the fixed test part.
    c_grid, n_splits:
        ``C`` grid and cross-validation folds of the tuning.
    random_state:
        Seed of the split and of every draw.
    """

    data: str | Path
    segment_rows: int = 50
    seeds: int = 10
    n_added: int = 700
    test_size: float = 0.3
    c_grid: Sequence[float] = C_GRID
    n_splits: int = 4
    random_state: int = 0
    show_progress: bool | None = None

    # ------------------------------------------------------------------ data
    def load(self) -> Split:
        """Read the table and make the fixed split."""
        from sklearn.model_selection import train_test_split

        path = Path(self.data)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: pass data= (the telco_churn.csv of the shared data sets)"
            )
        raw = pd.read_csv(path)
        missing = {LABEL, *SEGMENT} - set(raw.columns)
        if missing:
            raise ValueError(f"{path}: columns {sorted(missing)} are missing")
        table = raw.dropna().reset_index(drop=True)
        features = [c for c in table.columns if c != LABEL]
        numeric = [c for c in features if pd.api.types.is_numeric_dtype(table[c])]
        if next(iter(SEGMENT)) not in numeric:
            raise ValueError(f"{path}: the segment column {next(iter(SEGMENT))!r} is not numeric")
        categories = {c: sorted(table[c].unique()) for c in features if c not in numeric}
        strata = pd.Series(_in_segment(table)).astype(str) + "/" + table[LABEL].astype(str)
        train, test = train_test_split(
            np.arange(len(table)),
            test_size=self.test_size,
            stratify=strata,
            random_state=self.random_state,
        )
        return Split(table, np.sort(train), np.sort(test), numeric, categories)

    def thinned(self, split: Split, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Table rows of the thinned training part of ``seed`` (sorted), and the training part's
        seniors it left out."""
        seg = split.in_segment[split.train]
        seniors, others = split.train[seg], split.train[~seg]
        if len(seniors) < self.segment_rows:
            raise ValueError(
                f"the training part has {len(seniors)} seniors, fewer than {self.segment_rows}"
            )
        rng = np.random.default_rng([self.random_state, seed, 0])
        kept = rng.choice(seniors, size=self.segment_rows, replace=False)
        return np.sort(np.concatenate([others, kept])), np.setdiff1d(seniors, kept)

    # ------------------------------------------------------------------ run
    def run(self, result: BenchResult | None = None) -> BenchResult:
        """Train and score every (seed, arm); adds to ``result`` when given."""
        if self.seeds < 1 or self.segment_rows < 2 or self.n_added < 1:
            raise ValueError("seeds and n_added must be at least 1, segment_rows at least 2")
        split = self.load()
        result = result or new_result()
        test_seg = split.test[split.in_segment[split.test]]
        test_rest = split.test[~split.in_segment[split.test]]
        result.truth[SCORED] = split.labels(split.table.iloc[test_seg])
        result.truth[CONTROL] = split.labels(split.table.iloc[test_rest])
        result.meta.update(self._settings(split, len(test_seg), len(test_rest)))
        test_x = split.items(np.concatenate([test_seg, test_rest]))
        featurize = Features(len(split.numeric))
        # the matrices are small: BLAS threads only fight each other (and 10x slower on 2 cores)
        with (
            threadpool_limits(limits=1),
            progress(self.seeds, "bench persona", "seed", self.show_progress, min_total=1) as bar,
        ):
            for seed in range(self.seeds):
                arms, extra = self.arms(split, seed)
                for arm, data in arms.items():
                    for trial in self._trials(arm, seed, data, featurize, test_x, len(test_seg)):
                        trial.extra.update(extra[arm])
                        result.add(trial)
                bar.update(1)
        return result

    def arms(self, split: Split, seed: int) -> tuple[dict[str, TrainingSet], dict[str, dict]]:
        """Every arm's training set for ``seed``, and per arm what was added."""
        from augment.persona import PersonaSynthesizer

        rows, left_out = self.thinned(split, seed)
        if np.intersect1d(rows, split.test).size:
            raise AssertionError("a test row is in the training part")
        frame = split.table.iloc[rows].reset_index(drop=True)
        base = originals(split.items(rows), split.labels(frame))
        seniors = np.flatnonzero(split.in_segment[rows])
        rng = np.random.default_rng([self.random_state, seed, 1])
        n = self.n_added

        def synth(method: str, k: int, **bounds: float) -> Any:
            state = int(np.random.SeedSequence([self.random_state, seed, k]).generate_state(1)[0])
            s = PersonaSynthesizer(
                method=method, rules=[FORMULA], identity_fields=(), random_state=state, **bounds
            )
            return s.fit(frame).generate(SEGMENT, n, interactions=False)

        def made_up(new: pd.DataFrame) -> TrainingSet:
            new = new.dropna(subset=list(split.table.columns))
            return with_rows(
                base, split.items(new), split.labels(new), np.full(len(new), -1, dtype=np.int64)
            )

        def repeated(idx: np.ndarray) -> TrainingSet:
            return with_rows(base, base.items[idx], base.labels[idx], idx)

        arms: dict[str, TrainingSet] = {"none": base}
        arms["duplicated"] = repeated(np.resize(seniors, n))
        arms["random_oversampling"] = repeated(np.sort(rng.choice(seniors, size=n)))
        # no band and no privacy bound: SMOTE-NC as it is usually run (exact copies of a real
        # row and broken category links are still rejected; the arm takes every draw anyway)
        smote = synth("smote", 2, min_similarity=-1.0, privacy_distance=0.0)
        arms["smote_nc"] = made_up(_drawn(smote).iloc[:n])
        copula = synth("copula", 3)
        drawn = _drawn(copula)
        accepted = drawn["reason"].to_numpy() == "accepted"
        arms["personas_unfiltered"] = made_up(drawn)
        arms["personas"] = made_up(drawn[accepted])
        match = size_matched_rows(len(drawn), int(accepted.sum()), rng)
        arms["personas_size_matched"] = made_up(drawn.iloc[match])
        back = np.sort(rng.choice(left_out, size=min(n, len(left_out)), replace=False))
        arms["real_seniors"] = made_up(split.table.iloc[back])

        n_base = len(base)
        extra: dict[str, dict] = {}
        for arm, data in arms.items():
            added = data.labels[n_base:]
            seg = data.items[:, split.segment_column()] == next(iter(SEGMENT.values()))
            extra[arm] = {
                "added": len(data) - n_base,
                "added_churn_share": round(float(added.mean()), 4) if len(added) else None,
                "segment_originals": int((seg & data.original).sum()),
                "segment_rows": int(seg.sum()),
            }
        extra["personas"]["generator_segment_rows"] = copula.n_segment_rows
        extra["smote_nc"]["generator_segment_rows"] = smote.n_segment_rows
        rate = float(accepted.mean())
        for arm in ("personas", "personas_unfiltered", "personas_size_matched"):
            extra[arm]["accept_rate"] = round(rate, 4)
            extra[arm]["shortfall"] = copula.shortfall
        extra["none"]["segment_churn_share"] = round(float(base.labels[seniors].mean()), 4)
        return arms, extra

    def _trials(
        self,
        arm: str,
        seed: int,
        data: TrainingSet,
        featurize: Features,
        test_x: np.ndarray,
        n_seg: int,
    ) -> list[Trial]:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(max_iter=2000, class_weight=None)
        tuned, transform = tune_and_fit(
            lr, "C", self.c_grid, data, featurize, self.n_splits, random_state=seed
        )
        pred = tuned.model.predict(transform(test_x)).astype(np.int64)
        size = f"{self.segment_rows} seniors in training"
        return [
            Trial(SCORED, size, MODEL, arm, seed, len(data), pred[:n_seg], param=tuned.param),
            Trial(CONTROL, size, MODEL, arm, seed, len(data), pred[n_seg:], param=tuned.param),
        ]

    def _settings(self, split: Split, n_seg: int, n_rest: int) -> dict[str, Any]:
        return {
            "data": str(self.data),
            "rows": len(split.table),
            "split": f"one fixed split for every seed: {1 - self.test_size:.0%} train / "
            f"{self.test_size:.0%} test, stratified by segment x churn, "
            f"random_state {self.random_state}",
            "segment": "senior_citizen == 1",
            "test_seniors": n_seg,
            "test_non_seniors": n_rest,
            "training_seniors_before_thinning": int(split.in_segment[split.train].sum()),
            "segment_rows": self.segment_rows,
            "n_added": self.n_added,
            "seeds": self.seeds,
            "synthesizer": f"PersonaSynthesizer(rules=[{FORMULA!r}]) fitted per seed on the "
            "thinned training part; copula for personas, smote for smote_nc",
            "classifier": "LogisticRegression(class_weight=None) on standardised numbers "
            "(StandardScaler fitted inside every fold) + one-hot categories",
            "c_grid": list(self.c_grid),
            "cv": f"{self.n_splits} folds over original rows, stratified, grouped by source; "
            "made-up rows with source -1 train in every fold",
            "arms": list(ARMS),
        }


@dataclass
class Features:
    """``featurize`` for :func:`tune_and_fit`: the first ``n_numeric`` columns of a feature row
    standardised (fitted on the rows given), the one-hot columns as they are."""

    n_numeric: int

    def __call__(self, items: Any) -> tuple[Any, Callable[[Any], Any]]:
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import StandardScaler

        ct = ColumnTransformer(
            [("numbers", StandardScaler(), list(range(self.n_numeric)))], remainder="passthrough"
        )
        return ct.fit_transform(np.asarray(items)), ct.transform


def _in_segment(table: pd.DataFrame) -> np.ndarray:
    return (table[list(SEGMENT)] == pd.Series(SEGMENT)).all(axis=1).to_numpy()


def _drawn(result: Any) -> pd.DataFrame:
    """Every candidate a :class:`PersonaResult` drew, in draw order, with its ``reason``."""
    personas = result.personas.assign(reason="accepted")
    return pd.concat([personas, result.rejected]).sort_values("draw").reset_index(drop=True)


def notes(result: BenchResult) -> str:
    """A Markdown paragraph on how the persona result was made and what each arm is."""
    m = result.meta
    trials = result.per_trial()
    lines = [
        "### How this was measured",
        "",
        f"* Data: `{Path(str(m.get('data', 'telco_churn.csv'))).name}`, {m.get('rows', '?'):,} "
        f"customers with every value; {m.get('split', '')}. Scored: the "
        f"{m.get('test_seniors', '?')} seniors of the test part (and, as a control, its "
        f"{m.get('test_non_seniors', 0):,} non-seniors).",
        f"* Per seed the training part keeps its non-seniors and {m.get('segment_rows', '?')} of "
        f"its {m.get('training_seniors_before_thinning', '?')} seniors (drawn at random); every "
        f"augmenting arm adds {m.get('n_added', '?')} senior rows to it (about what the thinning "
        "removed), generators fitted on the thinned part only.",
        "* Arms: `duplicated` repeats the 50 seniors; `random_oversampling` draws them with "
        "replacement; `smote_nc` is SMOTE-NC without the filter; `personas` are Gaussian-copula "
        "personas accepted by the segment filter, `personas_unfiltered` every candidate drawn for "
        "them, `personas_size_matched` as many unfiltered candidates as `personas` kept; "
        "`real_seniors` puts back real seniors the thinning removed (a reference, not an option).",
        f"* {m.get('classifier', '')}; C tuned per arm on {m.get('c_grid', '')} by grouped "
        "cross-validation (accuracy on original rows).",
    ]
    if not trials.empty and "added_churn_share" in trials:
        seg = trials[trials.dataset == SCORED]
        share = seg.groupby("arm", sort=False)["added_churn_share"].mean().dropna()
        base = seg.loc[seg.arm == "none", "segment_churn_share"].mean()
        lines.append(
            f"* Churn share of the added rows (the {m.get('segment_rows', '?')} kept seniors: "
            f"{100 * base:.0f} %): "
            + ", ".join(f"{a} {100 * v:.0f} %" for a, v in share.items())
            + ". An arm that adds more churners moves the model's threshold for seniors: recall "
            "rises for that reason alone."
        )
    if not trials.empty and "accept_rate" in trials:
        rate = trials.loc[trials.arm == "personas", "accept_rate"].mean()
        lines.append(
            f"* The segment filter accepted {100 * rate:.1f} % of the copula's candidates."
        )
    return "\n".join(lines) + "\n"


def new_result() -> BenchResult:
    """An empty result for the persona benchmark (recall, F1 and accuracy of churn)."""
    return BenchResult("persona", METRICS, PAIRS)
