"""The downstream image benchmark end to end, in its quick configuration, on the real
PneumoniaMNIST X-rays of ../shared/data and the real EfficientNet-Lite0 weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from augment.bench.image import (
    ARMS,
    FAMILIES,
    PAIRS,
    QUICK,
    ImageBenchmark,
    data_file,
    load_pneumoniamnist,
    nested_samples,
    new_result,
)


@pytest.fixture(scope="module")
def quick(data_path):
    """One quick run, shared by the tests (torch on one thread, as the benchmark script runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        bench = ImageBenchmark(data_path, show_progress=False, **QUICK)
        yield bench, bench.run()
    finally:
        torch.set_num_threads(threads)


def test_quick_run_gives_every_arm_for_every_seed(quick):
    _, result = quick
    df = result.per_trial()
    assert set(df["size"]) == {f"{k}/class" for k in QUICK["shots"]}
    counts = df.groupby(["size", "arm"]).seed.nunique()
    assert set(df.arm) == set(ARMS)
    assert (counts == QUICK["seeds"]).all()
    assert len(df) == len(ARMS) * QUICK["seeds"] * len(QUICK["shots"])
    for metric in ("accuracy", "auc"):
        assert df[metric].between(0, 1).all()
    diffs = result.differences()
    assert {(r.arm, r.baseline) for r in diffs.itertuples()} == set(PAIRS)
    assert "| contrast_rotation_filtered |" in result.to_markdown()


def test_rows_of_each_arm(quick):
    bench, result = quick
    df = result.per_trial().set_index(["size", "seed", "arm"]).n_train
    n_orig = 2 * QUICK["shots"][0]
    for size, seed in {(s, e) for s, e, _ in df.index}:
        rows = df.loc[(size, seed)]
        assert rows["none"] == n_orig
        # more rows alone: the duplicated control is as large as an unfiltered arm
        assert rows["duplicated"] == rows["contrast"] == n_orig * (1 + bench.n_variants)
        for fam in FAMILIES:
            assert rows[fam] == n_orig * (1 + bench.n_variants)
            assert rows[f"{fam}_size_matched"] == rows[f"{fam}_filtered"]
            assert n_orig <= rows[f"{fam}_filtered"] <= rows[fam]


def test_same_seed_same_result(quick, data_path):
    """A second run of seed 0 alone (sharing the first run's filter, so its embeddings are
    cached) gives exactly the rows of seed 0 in the first run: nothing depends on what ran
    before or on how many seeds run."""
    bench, result = quick
    again = ImageBenchmark(
        data_path,
        show_progress=False,
        fidelity_filter=bench.fidelity_filter,
        **{**QUICK, "seeds": 1},
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        second = again.run()
    finally:
        torch.set_num_threads(threads)
    first = result.per_trial()
    first = first[first.seed == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second.per_trial())
    scores = {t.arm: t.scores for t in result.trials if t.seed == 0}
    for t in second.trials:
        np.testing.assert_array_equal(t.scores, scores[t.arm])


def test_nested_samples_and_labels(data_path, shared_data):
    assert data_file(shared_data) == data_file(data_path) == data_path
    d = load_pneumoniamnist(data_path)
    assert d["test_labels"].shape == (624,)
    s = nested_samples(d["train_labels"], (10, 50), np.random.default_rng(3))
    assert (np.bincount(d["train_labels"][s[50]]) == 50).all()
    small, large = s[10], s[50]
    assert set(small[:10]) <= set(large[:50]) and set(small[10:]) <= set(large[50:])
    assert new_result().metrics == ("accuracy", "auc")
