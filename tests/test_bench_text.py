"""The downstream benchmark's machinery on real data: metrics, grouped CV, controls, text arms."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, recall_score, roc_auc_score

from augment.bench.arms import duplicated, originals, with_rows
from augment.bench.stats import METRICS, paired_bootstrap, resample_weights
from augment.bench.text import TextBenchmark, sample_rows
from augment.bench.tuning import C_GRID, TrainingSet, folds, tune_and_fit
from augment.io.text_files import read_labelled_text


def test_vectorised_metrics_match_scikit_learn_on_resampled_rows():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    scores = rng.normal(size=(3, 400)) + y
    pred = (scores > 0.5).astype(int)
    w = resample_weights(400, 4)
    for b in range(4):
        for s in range(3):
            kw = {"sample_weight": w[b]}
            assert METRICS["auc"](y, scores, w)[s, b] == pytest.approx(
                roc_auc_score(y, scores[s], **kw)
            )
            assert METRICS["macro_f1"](y, pred, w)[s, b] == pytest.approx(
                f1_score(y, pred[s], average="macro", **kw)
            )
            assert METRICS["f1"](y, pred, w)[s, b] == pytest.approx(f1_score(y, pred[s], **kw))
            assert METRICS["recall"](y, pred, w)[s, b] == pytest.approx(
                recall_score(y, pred[s], **kw)
            )


def test_paired_bootstrap_of_an_arm_against_itself_is_exactly_zero():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    pred = rng.integers(0, 3, (5, 200))
    r = paired_bootstrap("macro_f1", y, pred, pred)
    assert r["diff"] == r["low"] == r["high"] == 0.0
    better = np.where(rng.random((5, 200)) < 0.3, y, pred)  # right on 30% more rows
    r = paired_bootstrap("accuracy", y, better, pred)
    assert r["low"] > 0 and r["diff"] > 0.1


def test_folds_keep_variants_with_their_source_and_validate_on_originals_only():
    n = 40
    labels = np.repeat([0, 1], n // 2)
    base = originals([f"row {i}" for i in range(n)], labels)
    src = np.repeat(np.arange(n), 3)
    data = with_rows(base, [f"v{i}" for i in range(3 * n)], labels[src], src)
    data = with_rows(data, ["synthetic"] * 5, [0] * 5, [-1] * 5)
    splits = folds(data, n_splits=4, random_state=0)
    assert len(splits) == 4
    seen = np.zeros(n, dtype=int)
    for train, val in splits:
        assert data.original[val].all()  # scored on real rows only
        held = set(data.source[val])
        assert not held & set(data.source[train])  # no variant of a held-out source trains
        assert set(np.flatnonzero(data.source == -1)) <= set(train)  # sourceless rows train
        seen[data.source[val]] += 1
    assert (seen == 1).all()  # every original validated exactly once


@pytest.fixture(scope="module")
def sst2(shared_data):
    train = read_labelled_text(shared_data / "text" / "sst2" / "train.txt")
    test = read_labelled_text(shared_data / "text" / "sst2" / "test.txt")
    return train, test


def test_tuned_none_arm_is_not_beaten_by_duplicating_the_rows_16_times(sst2, text_encoder):
    """More rows must not pass for new information: 16 copies of each row, tuned on their own
    rows by grouped CV, do not beat the tuned unaugmented arm; and the grouping is what keeps
    the copies from fooling the tuning (ungrouped folds score the copies of validation rows)."""
    from sklearn.model_selection import KFold, cross_val_score

    train, test = sst2
    x_test = text_encoder.encode(test["text"].tolist())
    labels = train["label"].to_numpy()
    preds: dict[str, list[np.ndarray]] = {"none": [], "dup": []}
    for seed in range(6):
        rows = sample_rows(labels, "10/class", np.random.default_rng(seed))
        base = originals(text_encoder.encode(train["text"].iloc[rows].tolist()), labels[rows])
        arms = {"none": base, "dup": duplicated(base, 16)}
        tuned = {}
        for arm, data in arms.items():
            lr = LogisticRegression(max_iter=2000)
            tuned[arm], transform = tune_and_fit(
                lr, "C", C_GRID, data, random_state=seed, scoring="accuracy"
            )
            preds[arm].append(tuned[arm].model.predict(transform(x_test)))
        grouped = 1 - min(tuned["dup"].cv_scores.values())  # cv_scores are losses: 1 - accuracy
        assert grouped <= 1 - min(tuned["none"].cv_scores.values()) + 0.1
        dup = arms["dup"]
        naive = cross_val_score(
            LogisticRegression(C=1000, max_iter=2000),
            dup.items,
            dup.labels,
            cv=KFold(4, shuffle=True, random_state=seed),
        )
        assert naive.mean() > 0.95 > grouped  # copies in validation folds: a perfect score
    y = test["label"].to_numpy()
    r = paired_bootstrap("accuracy", y, np.array(preds["dup"]), np.array(preds["none"]))
    assert r["low"] <= 0 and r["diff"] < 0.01, r


def _tiny(train, test, **kw):
    return TextBenchmark(
        train,
        test,
        name="trec",
        sizes=("30", "3/class"),
        seeds=2,
        n_variants=3,
        show_progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def trec_run(shared_data):
    root = shared_data / "text" / "trec"
    return _tiny(root / "train.txt", root / "test.txt").run()


def test_text_benchmark_runs_every_arm_and_matches_sizes(trec_run):
    df = trec_run.per_trial()
    for (size, _model), g in df.groupby(["size", "model"]):
        arms = set(g.arm)
        expected = {"none", "duplicated", "unfiltered", "filtered", "size_matched"}
        assert expected <= arms
        if size == "30":
            assert "targeted" in arms  # TREC's 30-row samples are unbalanced
        for _seed, s in g.groupby("seed"):
            n = s.set_index("arm").n_train
            base = n["none"]
            assert n["size_matched"] == n["filtered"]  # the control has the filter's size
            assert n["unfiltered"] == n["duplicated"] == base * 4
            assert base < n["filtered"] <= n["unfiltered"]
    assert df[["accuracy", "macro_f1"]].apply(lambda c: c.between(0, 1).all()).all()
    d = trec_run.differences()
    assert {("filtered", "size_matched"), ("unfiltered", "none")} <= set(zip(d.arm, d.baseline))
    assert (d["low"] <= d["diff"]).all() and (d["diff"] <= d["high"]).all()


def test_the_same_seed_gives_the_same_table(shared_data, trec_run):
    from fidelity import FidelityFilter, TextEncoder

    root = shared_data / "text" / "trec"
    again = _tiny(
        root / "train.txt", root / "test.txt", fidelity_filter=FidelityFilter(TextEncoder())
    ).run()  # fresh model and cache
    cols = ["dataset", "size", "model", "arm", "seed", "n_train", "param", "accuracy", "macro_f1"]
    a, b = trec_run.per_trial()[cols], again.per_trial()[cols]
    assert a.equals(b)


def test_bad_sizes_and_models_are_clear_errors(shared_data):
    root = shared_data / "text" / "trec"
    with pytest.raises(ValueError, match="not 'N'"):
        TextBenchmark(root / "train.txt", root / "test.txt", sizes=("ten",)).run()
    with pytest.raises(ValueError, match="unknown model"):
        TextBenchmark(root / "train.txt", root / "test.txt", models=("bert",)).run()
    labels = np.array(["a"] * 5 + ["b"] * 2)
    with pytest.raises(ValueError, match="class 'b' has 2 training rows"):
        sample_rows(labels, "3/class", np.random.default_rng(0))
    assert isinstance(originals(["x"], [0]), TrainingSet)
