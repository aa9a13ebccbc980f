"""The persona downstream benchmark on the real telco_churn table: the quick mode end to end,
equal row counts where arms must match, the thinning, no test row in training, and seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from augment.bench.persona import ARMS, CONTROL, QUICK, SCORED, PersonaBenchmark


@pytest.fixture(scope="module")
def bench(shared_data) -> PersonaBenchmark:
    path = shared_data / "tabular" / "telco_churn.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the persona benchmark needs telco_churn.csv")
    return PersonaBenchmark(data=path, **QUICK)


@pytest.fixture(scope="module")
def quick(bench):
    result = bench.run()
    with threadpool_limits(limits=1):  # small matrices: BLAS threads only slow the bootstrap
        result.differences()  # cached for the tests below
    return result


@pytest.fixture(scope="module")
def trials(quick) -> pd.DataFrame:
    return quick.per_trial()


def test_quick_mode_runs_every_arm_for_every_seed(bench, quick, trials):
    assert set(trials.dataset) == {SCORED, CONTROL}
    for dataset, group in trials.groupby("dataset"):
        assert sorted(group.arm.unique()) == sorted(ARMS), dataset
        assert group.groupby("arm").seed.nunique().eq(bench.seeds).all(), dataset
        assert len(group) == len(ARMS) * bench.seeds
    for m in quick.metrics:
        assert trials[m].between(0, 1).all(), m
    assert quick.meta["test_seniors"] == len(quick.truth[SCORED]) > 300
    table, diffs = quick.table(), quick.differences()
    assert len(table) == 2 * len(ARMS)
    assert set(map(tuple, diffs[["arm", "baseline"]].to_numpy())) == set(quick.pairs)
    assert (diffs.low <= diffs["diff"]).all() and (diffs["diff"] <= diffs.high).all()
    md = quick.to_markdown()
    assert "personas_size_matched" in md and "Δ recall vs none" in md


def test_arms_add_the_same_number_of_rows(bench, trials):
    seg = trials[trials.dataset == SCORED].set_index(["seed", "arm"])
    for seed in range(bench.seeds):
        rows = seg.loc[seed]
        assert rows.loc["none", "added"] == 0
        for arm in ("duplicated", "random_oversampling", "smote_nc", "real_seniors"):
            assert rows.loc[arm, "added"] == bench.n_added, (seed, arm)
        # the copula fills its request, and the size-matched control has exactly its count
        assert rows.loc["personas", "added"] == bench.n_added
        assert rows.loc["personas_size_matched", "n_train"] == rows.loc["personas", "n_train"]
        assert rows.loc["personas_unfiltered", "added"] >= rows.loc["personas", "added"]
        assert (rows.n_train == rows.loc["none", "n_train"] + rows.added).all()
        # every augmenting arm adds senior rows only
        assert (rows.segment_rows == bench.segment_rows + rows.added).all()


def test_thinned_training_part_and_no_test_row_in_training(bench, trials):
    split = bench.load()
    assert not np.intersect1d(split.train, split.test).size
    assert len(split.train) + len(split.test) == len(split.table)
    seen = []
    for seed in range(bench.seeds):
        rows, left_out = bench.thinned(split, seed)
        assert not np.intersect1d(rows, split.test).size
        assert not np.intersect1d(rows, left_out).size
        assert split.in_segment[rows].sum() == bench.segment_rows
        assert (~split.in_segment[rows]).sum() == (~split.in_segment[split.train]).sum()
        seen.append(frozenset(rows[split.in_segment[rows]]))
    assert len(set(seen)) == bench.seeds  # each seed thins differently
    # every arm trains on exactly the 50 senior originals, and the generators saw only them
    assert (trials.segment_originals == bench.segment_rows).all()
    generated = trials.dropna(subset=["generator_segment_rows"])
    assert set(generated.arm) == {"personas", "smote_nc"}
    assert (generated.generator_segment_rows == bench.segment_rows).all()


def test_arms_are_built_from_the_thinned_rows(bench):
    split = bench.load()
    rows, left_out = bench.thinned(split, 0)
    arms, extra = bench.arms(split, 0)
    base = arms["none"]
    np.testing.assert_array_equal(base.items, split.items(rows))
    n = len(rows)
    for name, data in arms.items():
        np.testing.assert_array_equal(data.items[:n], base.items, err_msg=name)
        assert data.original[:n].all() and not data.original[n:].any(), name
    seniors = np.flatnonzero(split.in_segment[rows])
    for name in ("duplicated", "random_oversampling"):
        src = arms[name].source[n:]
        assert set(src) <= set(seniors), name  # copies keep their source senior
        np.testing.assert_array_equal(arms[name].items[n:], base.items[src])
    assert np.ptp(np.bincount(arms["duplicated"].source[n:], minlength=n)[seniors]) <= 1
    for name in ("smote_nc", "personas", "personas_unfiltered", "personas_size_matched"):
        assert (arms[name].source[n:] == -1).all(), name
    # no test row is among the rows any arm adds (made-up rows are new; real_seniors come from
    # the seniors the thinning left out)
    test_items = {r.tobytes() for r in split.items(split.test)}
    for name, data in arms.items():
        assert not any(r.tobytes() in test_items for r in data.items[n:]), name


def test_same_seed_same_table(bench, trials):
    again = PersonaBenchmark(data=bench.data, **{**QUICK, "seeds": 1}).run().per_trial()
    first = trials[trials.seed == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, first)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="telco_churn.csv"):
        PersonaBenchmark(data=tmp_path / "telco_churn.csv").run()
