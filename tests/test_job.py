"""`augment run` end to end through the CLI on shared data: output, resume after SIGKILL, Ray."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from augment.run.config import ConfigError, RunConfig
from augment.run.job import load_tables
from tests.conftest import read_labelled

EXE = shutil.which("augment") or str(Path(sys.executable).with_name("augment"))


def _augment(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def job_dir(tmp_path, shared_data):
    """A job folder with the first 120 SST-2 training sentences as CSV and a config."""
    labels, texts = read_labelled(shared_data / "text" / "sst2" / "train.txt", limit=120)
    texts[7] = ""  # a bad row: it must be accounted for, not dropped
    pd.DataFrame({"label": labels, "text": texts}).to_csv(tmp_path / "in.csv", index=False)
    cfg = {
        "input": {"path": "in.csv"},
        "modality": "text",
        "pipeline": {"preset": "eda"},
        "targeting": {"n_variants": 2},
        "filter": {"min_similarity": 0.7, "max_similarity": 0.98},
        "seed": 3,
        "output": "out",
        "shard_rows": 10,
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def _same_output(a: Path, b: Path) -> None:
    ta, tb = load_tables(a), load_tables(b)
    for name in ("accepted", "rejected"):
        pd.testing.assert_frame_equal(ta[name], tb[name])
    assert (a / "errors.jsonl").read_text() == (b / "errors.jsonl").read_text()


def test_run_writes_tables_manifest_and_report(job_dir):
    dry = _augment("run", "job.yaml", "--dry-run", cwd=job_dir)
    assert dry.returncode == 0 and "12 of 10 rows" in dry.stdout and "240 variants" in dry.stdout
    assert not (job_dir / "out").exists()
    proc = _augment("run", "job.yaml", cwd=job_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = job_dir / "out"
    tables = load_tables(out)
    acc, rej = tables["accepted"], tables["rejected"]
    assert len(acc) + len(rej) == 240  # every variant of every row accounted for
    assert set(acc.reason) == {"accepted"} and len(acc) > 100
    assert set(rej.reason) <= {"drift", "near_duplicate", "constraint", "invalid"}
    bad = rej[rej.source_id == "7"]
    assert len(bad) == 2 and set(bad.reason) == {"invalid"}
    assert bad.detail.tolist() == ["row '7:0': source is empty", "row '7:1': source is empty"]
    assert all(json.loads(o) for o in acc.operations)  # provenance travels with each row
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 3
    assert manifest["counts"]["rows"] == 120 and manifest["counts"]["candidates"] == 240
    assert "sentence-transformers" in manifest["versions"]
    assert manifest["models"]["text_encoder"].endswith("all-MiniLM-L6-v2")
    report = (out / "report.md").read_text()
    assert "Accept rate per operation" in report and "similarity.png" in report
    assert (out / "similarity.png").stat().st_size > 10_000
    # a rerun of a finished job does no work and changes nothing
    before = (out / "accepted.parquet").read_bytes()
    again = _augment("run", "job.yaml", "--quiet", cwd=job_dir)
    assert again.returncode == 0 and "shard " not in again.stderr
    assert (out / "accepted.parquet").read_bytes() == before


def test_sigkill_mid_run_then_rerun_equals_a_clean_run(job_dir):
    clean = _augment("run", "job.yaml", "--output", "clean", cwd=job_dir)
    assert clean.returncode == 0, clean.stderr[-3000:]
    proc = subprocess.Popen(
        [EXE, "run", "job.yaml", "--quiet"],
        cwd=job_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    manifest = job_dir / "out" / "manifest.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if manifest.is_file() and len(json.loads(manifest.read_text())["shards"]) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(json.loads(manifest.read_text())["shards"])
    assert 3 <= done < 12, "the kill must land mid-run"
    assert not (job_dir / "out" / "accepted.parquet").exists()
    resumed = _augment("run", "job.yaml", "--quiet", cwd=job_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stderr.count("shard ") == 12 - done  # only the missing shards ran
    _same_output(job_dir / "clean", job_dir / "out")


def test_ray_engine_output_equals_local_engine(job_dir):
    pytest.importorskip("ray")
    cfg = yaml.safe_load((job_dir / "job.yaml").read_text())
    cfg["input"]["limit"] = 40
    (job_dir / "job.yaml").write_text(yaml.safe_dump(cfg))
    local = _augment("run", "job.yaml", "--output", "local", "--quiet", cwd=job_dir)
    assert local.returncode == 0, local.stderr[-3000:]
    ray = _augment(
        "run",
        "job.yaml",
        "--output",
        "ray",
        "--engine",
        "ray",
        "--actors",
        "2",
        "--quiet",
        cwd=job_dir,
    )
    assert ray.returncode == 0, ray.stderr[-3000:]
    _same_output(job_dir / "local", job_dir / "ray")
    assert json.loads((job_dir / "ray" / "manifest.json").read_text())["engine"] == "ray"


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(
            {
                "input": {"path": "x.csv", "colour": 1},
                "pipeline": {"preset": "eda"},
                "output": "o",
                "seed": "abc",
                "shard_rows": 0,
            }
        )
    msg = str(err.value)
    assert "input.colour: Extra inputs are not permitted" in msg
    assert "seed:" in msg and "shard_rows:" in msg
    with pytest.raises(ConfigError, match="exactly one of pipeline.preset or pipeline.spec"):
        RunConfig.from_dict({"input": {"path": "x.csv"}, "pipeline": {}, "output": "o"})
    (tmp_path / "bad.yaml").write_text("input: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        RunConfig.load(tmp_path / "bad.yaml")


def test_cli_reports_missing_input_and_a_different_job_in_the_folder(job_dir):
    cfg = yaml.safe_load((job_dir / "job.yaml").read_text())
    cfg["input"]["path"] = "nope.csv"
    (job_dir / "missing.yaml").write_text(yaml.safe_dump(cfg))
    proc = _augment("run", "missing.yaml", cwd=job_dir)
    assert proc.returncode == 2 and "nope.csv does not exist" in proc.stderr
    (job_dir / "out").mkdir()
    (job_dir / "out" / "manifest.json").write_text(
        json.dumps({"config_hash": "other", "config": {"seed": 99}, "shards": {}})
    )
    proc = _augment("run", "job.yaml", cwd=job_dir)
    assert proc.returncode == 2 and "different job" in proc.stderr and "seed" in proc.stderr
