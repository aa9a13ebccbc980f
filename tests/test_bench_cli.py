"""`augment bench`: the quick mode of every task end to end, as a user runs it."""

from __future__ import annotations

import json

import pytest

from augment.bench.suite import TASKS
from augment.cli import main


def test_augment_bench_all_quick_writes_every_table_plot_and_json(shared_data, tmp_path, capsys):
    rc = main(
        ["bench", "all", "--quick", "--data", str(shared_data), "--out", str(tmp_path), "--quiet"]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    for task in TASKS:
        stem = tmp_path / f"downstream_{task}"
        assert stem.with_suffix(".png").stat().st_size > 10_000
        md = stem.with_suffix(".md").read_text()
        assert "| none |" in md and "95% bootstrap interval" in md
        data = json.loads(stem.with_suffix(".json").read_text())
        assert data["meta"]["mode"] == "quick" and data["trials"] and data["differences"]
        for row in data["differences"]:
            assert row["low"] <= row["diff"] <= row["high"]
        trials = data["trials"]
        # every size-matched control has its filtered arm's size, seed by seed
        by = {
            (t["dataset"], t["size"], t["model"], t["seed"], t["arm"]): t["n_train"] for t in trials
        }
        matched = [k for k in by if k[-1].endswith("size_matched")]
        assert matched
        for k in matched:
            filtered = k[-1].replace("size_matched", "filtered")
            if filtered == "personas_filtered":
                filtered = "personas"
            assert by[k] == by[(*k[:-1], filtered)], k
        assert f"{task}:" in printed


def test_augment_bench_names_what_is_missing(tmp_path, capsys):
    assert main(["bench", "text", "--out", str(tmp_path)]) == 2
    assert "give --data" in capsys.readouterr().err
    assert main(["bench", "image", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "pneumoniamnist.npz" in capsys.readouterr().err
    assert main(["bench", "text", "--train", str(tmp_path / "x.txt"), "--out", str(tmp_path)]) == 2
    assert "--train and --test" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["0", "ten", "5/row"])
def test_bad_sizes_are_refused_before_any_work(shared_data, tmp_path, capsys, size):
    root = shared_data / "text" / "trec"
    rc = main(
        [
            "bench",
            "text",
            "--train",
            str(root / "train.txt"),
            "--test",
            str(root / "test.txt"),
            "--sizes",
            size,
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    assert "is not 'N'" in capsys.readouterr().err
