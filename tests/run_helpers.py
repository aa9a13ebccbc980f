"""Helpers for tests that run `augment run` through the CLI's main function in this process
(so the filter's model loads once per process, see ``augment.run.shard.build_filter``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from augment.cli import main
from augment.run.job import load_tables

#: A cheap text job: the EDA recipe, two variants a row, three rows a shard.
TEXT_JOB: dict[str, Any] = {
    "pipeline": {"preset": "eda"},
    "targeting": {"n_variants": 2},
    "filter": {"min_similarity": 0.5, "max_similarity": 0.99},
    "seed": 1,
    "output": "out",
    "shard_rows": 3,
}

SENTENCES = [
    "the delivery arrived two days late and the box was damaged",
    "my account was charged twice for the same order",
    "the app crashes every time I open the settings page",
    "I would like to change the address on my subscription",
    "the support agent solved my problem in a few minutes",
    "the refund has not reached my bank account yet",
    "the new update made the battery drain much faster",
    "please cancel my order before it ships tomorrow",
]


def write_job(folder: Path, input_cfg: dict[str, Any], **overrides: Any) -> Path:
    """``folder/job.yaml``: :data:`TEXT_JOB` with ``input`` and ``overrides``."""
    cfg = {**TEXT_JOB, "input": input_cfg, **overrides}
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """``augment run ARGS --quiet`` in this process: (exit code, stdout, stderr)."""
    rc = main(["run", *args, "--quiet"])
    out, err = capsys.readouterr()
    return rc, out, err


def fatal_line(err: str) -> str:
    """The one line a refused job prints (after the plan, if one was printed)."""
    lines = [x for x in err.strip().splitlines() if x.startswith("augment run:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def accounted(output: Path) -> dict[str, Any]:
    """Check the identity of a finished job, from its files and its manifest: variants planned
    = accepted + rejected + error records with a variant; every error record's ``row``,
    ``line`` and ``variant`` are integers or null. Returns the manifest's counts, with the
    tables."""
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    c = manifest["counts"]
    tables = load_tables(output)
    raw = [json.loads(x) for x in (output / "errors.jsonl").read_text().splitlines()]
    for rec in raw:
        for key in ("row", "line", "variant"):
            assert rec[key] is None or type(rec[key]) is int, rec
    variant_errors = sum(r["variant"] is not None for r in raw)
    assert len(tables["accepted"]) == c["accepted"] and len(tables["rejected"]) == c["rejected"]
    assert variant_errors == c["errors"]
    assert c["planned"] == c["accepted"] + c["rejected"] + c["errors"]
    assert (output / "report.md").is_file()
    return {**c, "tables": tables, "raw_errors": raw}
