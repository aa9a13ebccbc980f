"""Issue 14 (hardening) for `augment run`, the Augmenter and io: one test per item, each run
through the real CLI (in this process, so the model loads once) on small files it writes."""

from __future__ import annotations

import json
import os
import resource
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from augment.augmenter import Augmenter
from augment.candidate import Source
from augment.io.atomic import atomic_write_bytes
from augment.run.config import ConfigError, RunConfig
from augment.targeting import plan_by_balance
from augment.text import TextPipeline
from tests.run_helpers import SENTENCES, accounted, fatal_line, run_cli, write_job


@pytest.fixture()
def tsv(tmp_path, monkeypatch) -> Path:
    """``in.tsv``: six labelled sentences (four of class 0), in a job folder made current."""
    monkeypatch.chdir(tmp_path)
    labels = [0, 0, 0, 0, 1, 1]
    lines = [f"{s}\t{lab}" for s, lab in zip(SENTENCES, labels)]
    (tmp_path / "in.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    return tmp_path


# ------------------------------------------------------------------ 1. no silent zero
def test_a_plan_file_from_plan_by_balance_is_followed(tsv, capsys):
    labels = pd.read_csv(tsv / "in.tsv", sep="\t").label.tolist()
    plan = plan_by_balance(labels, budget=4)  # integer row numbers as ids
    plan.to_csv(tsv / "plan.csv", index=False)
    write_job(tsv, {"path": "in.tsv"}, targeting={"plan": "plan.csv"})
    rc, out, err = run_cli(capsys, "job.yaml")
    assert rc == 0, err
    counts = json.loads((tsv / "out" / "manifest.json").read_text())["counts"]
    assert counts["candidates"] == 4  # not "6 rows -> 0 candidates"
    c = accounted(tsv / "out")
    assert c["planned"] == 4
    both = pd.concat([c["tables"]["accepted"], c["tables"]["rejected"]])
    assert set(both.source_id) == {str(i) for i in plan.source_id[plan.n_variants > 0]}


@pytest.mark.parametrize(
    ("cell", "named"),
    [
        ("-3", "n_variants for source_id '1' must be >= 0, got -3"),
        ("true", "n_variants for source_id '1' is a boolean"),
        ("2.5", "n_variants for source_id '1' must be a whole number >= 0, got 2.5"),
        ("lots", "n_variants for source_id '1' is 'lots', not a number"),
    ],
)
def test_a_bad_count_in_a_plan_is_an_error_naming_the_row(tsv, capsys, cell, named):
    (tsv / "plan.csv").write_text(f"source_id,n_variants\n0,1\n1,{cell}\n")
    write_job(tsv, {"path": "in.tsv"}, targeting={"plan": "plan.csv"})
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and named in fatal_line(err) and "plan.csv line 3" in err
    assert not (tsv / "out").exists()


def test_a_plan_naming_unknown_ids_or_nothing_to_do_is_refused(tsv, capsys):
    (tsv / "plan.csv").write_text("source_id,n_variants\n0,1\nzz,2\n")
    write_job(tsv, {"path": "in.tsv"}, targeting={"plan": "plan.csv"})
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and "not in the input" in fatal_line(err) and "'zz'" in err
    (tsv / "plan.csv").write_text("source_id,n_variants\n0,0\n1,0\n")
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and "plans 0 variants" in fatal_line(err)
    assert not (tsv / "out").exists()


def test_augmenter_counts_are_checked():
    pipe = TextPipeline.from_preset("eda")
    sources = [Source(0, SENTENCES[0]), Source(1, SENTENCES[1])]
    aug = Augmenter(pipe, None, 1)
    with pytest.raises(ValueError, match=r"not in the input.*'zz'.*\(str\).*int"):
        aug.generate(sources, {"zz": 2})
    with pytest.raises(ValueError, match="'0'"):
        aug.generate(sources, {"0": 2})  # "0" is not the id 0: said, not a silent zero
    for bad, msg in [(-3, "must be >= 0"), (True, "boolean"), (2.5, "whole number")]:
        with pytest.raises(ValueError, match=msg):
            aug.generate(sources, {0: bad})
        with pytest.raises(ValueError, match=msg):
            Augmenter(pipe, None, bad).generate(sources)
    candidates, errors = aug.generate(sources, {1: 2})
    assert [c.candidate_id for c in candidates] == ["1:0", "1:1"] and not errors


# ------------------------------------------------------------------ 2. one writer per folder
def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tsv, capsys):
    from augment.io.lock import FolderLockedError, folder_lock

    write_job(tsv, {"path": "in.tsv"}, targeting={"n_variants": 1})
    with folder_lock(tsv / "out"):
        rc, _, err = run_cli(capsys, "job.yaml")
        assert rc == 2 and f"in use by process {os.getpid()}" in fatal_line(err)
        with pytest.raises(FolderLockedError):
            with folder_lock(tsv / "out"):
                pass
    assert not (tsv / "out" / "manifest.json").exists()
    # a lock file left by a process that is gone does not block (flock died with it)
    (tsv / "out" / ".lock").write_text("999999 somehost 0\n")
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 0, err


def test_concurrent_writers_of_one_file_never_collide_or_show_half_a_file(tmp_path):
    target = tmp_path / "accepted.parquet"
    payloads = [bytes([k]) * 200_000 for k in range(4)]
    failures: list[BaseException] = []
    seen_bad: list[int] = []
    stop = threading.Event()

    def write(k: int) -> None:
        try:
            for _ in range(40):
                atomic_write_bytes(target, payloads[k])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    def read() -> None:
        while not stop.is_set():
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                continue
            if data not in payloads:
                seen_bad.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert not failures and not seen_bad
    assert not [p for p in tmp_path.iterdir() if p != target]  # no temporary left behind


# ------------------------------------------------------------------ 5. files and resume
def test_resume_refuses_an_input_edited_since_and_accepts_another_spelling_of_the_path(tsv, capsys):
    job = write_job(tsv, {"path": "in.tsv"}, targeting={"n_variants": 1})
    rc, _, err = run_cli(capsys, str(job.resolve()))  # by its absolute path ...
    assert rc == 0, err
    rc, _, err = run_cli(capsys, "job.yaml")  # ... then relative: the same job, nothing to do
    assert rc == 0 and "already done" in err and "different job" not in err
    with open(tsv / "in.tsv", "a") as fh:
        fh.write("one more row appended later\t1\n")
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and "has changed since the run" in fatal_line(err)
    rc, _, err = run_cli(capsys, "job.yaml", "--restart")
    assert rc == 0 and accounted(tsv / "out")["rows"] == 7


def test_a_full_disk_leaves_no_temporary_and_no_complete_manifest(tsv, capsys):
    write_job(tsv, {"path": "in.tsv"}, targeting={"n_variants": 1})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        # the parts (~5 kB) fit, the merged table (~7 kB) does not: a write fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (6_000, hard))
        rc, _, err = run_cli(capsys, "job.yaml")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert rc == 1 and "run the same command again" in fatal_line(err)
    out = tsv / "out"
    assert not list(out.rglob(".*.tmp-*"))
    assert json.loads((out / "manifest.json").read_text())["status"] != "complete"
    rc, _, err = run_cli(capsys, "job.yaml")  # room again: it resumes and finishes
    assert rc == 0, err
    accounted(out)


def test_config_errors_are_found_before_anything_is_written(tsv, capsys):
    write_job(tsv, {"path": "in.tsv"}, pipeline={"preset": "zz"})  # once found in shard 1
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and fatal_line(err).startswith("augment run: pipeline") and "'zz'" in err
    assert not (tsv / "out").exists()
    write_job(tsv, {"path": "in.tsv"}, targeting={"n_variants": 1})  # fixed: no --restart
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 0, err


# ------------------------------------------------------------------ 6. sizes
def test_variant_counts_are_bounded_and_large_jobs_need_yes(tsv, capsys):
    with pytest.raises(ConfigError, match="targeting.n_variants: Input should be less than"):
        RunConfig.from_dict(
            {
                "input": {"path": "in.tsv"},
                "pipeline": {"preset": "eda"},
                "output": "o",
                "targeting": {"n_variants": 1_000_000_000},
            }
        )
    rows = "\n".join(f"row number {i}\t0" for i in range(1001))
    (tsv / "big.tsv").write_text("text\tlabel\n" + rows + "\n")
    write_job(tsv, {"path": "big.tsv"}, targeting={"n_variants": 1000})
    rc, out, _ = run_cli(capsys, "job.yaml", "--dry-run")
    assert rc == 0 and "1,001,000 variants" in out and "--yes" in out
    rc, _, err = run_cli(capsys, "job.yaml")
    assert rc == 2 and "confirm with --yes" in fatal_line(err)
    assert not (tsv / "out").exists()


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, capsys):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
        prev = name
    lines.append("input: {path: in.tsv}\npipeline: {preset: eda}\noutput: out")
    (tmp_path / "job.yaml").write_text("\n".join(lines) + "\n")
    assert len((tmp_path / "job.yaml").read_bytes()) < 700
    t0 = time.perf_counter()
    rc, _, err = run_cli(capsys, str(tmp_path / "job.yaml"))
    assert rc == 2 and "alias" in fatal_line(err)
    assert time.perf_counter() - t0 < 5


def test_pipeline_spec_files_share_the_yaml_bounds(tmp_path):
    from augment.io.safe_yaml import YAMLLimitError
    from augment.io.specs import load_spec

    (tmp_path / "loop.yaml").write_text("type: text_pipeline\nops: &a [*a]\n")
    with pytest.raises(YAMLLimitError, match="recursive"):
        load_spec(tmp_path / "loop.yaml")
    (tmp_path / "ok.yaml").write_text("type: t\nbase: &b {p: 1}\nops: [*b, *b]\n")
    assert load_spec(tmp_path / "ok.yaml")["ops"] == [{"p": 1}, {"p": 1}]
