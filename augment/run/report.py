"""The report of a finished `augment run`: Markdown with PNG plots."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from augment.io.atomic import atomic_write_text
from augment.io.markdown import md_table
from augment.pipeline import modality_named
from augment.run.config import RunConfig
from fidelity.band import Band
from fidelity.report import accept_rate_plot, histogram_by_reason


def write_report(cfg: RunConfig, manifest: dict[str, Any]) -> None:
    """``report.md`` with its plots: the tables of verdicts and of accept rates per operation
    come from the shards' own summaries (``manifest["summary"]``); the similarity histogram
    and the examples read the written tables' similarity, reason and a few rows."""
    out = cfg.output
    cols = ["candidate_id", "source_id", "payload", "similarity", "reason", "detail"]
    acc = pd.read_parquet(out / "accepted.parquet", columns=cols)
    rej = pd.read_parquet(out / "rejected.parquet", columns=cols)
    both = pd.concat([acc, rej], ignore_index=True)
    band = Band(cfg.filter.min_similarity, cfg.filter.max_similarity)
    histogram_by_reason(
        both.similarity.fillna(float("nan")), both.reason, out / "similarity.png", band
    )
    summary = manifest.get("summary", {})
    per_op = pd.DataFrame(
        [[k, n, a] for k, (n, a) in summary.get("operations", {}).items()],
        columns=["op_chain", "candidates", "accepted"],
    )
    per_op["accept_rate"] = (per_op.accepted / per_op.candidates).round(3)
    if len(per_op):
        accept_rate_plot(per_op, out / "accept_rate.png")
    reasons = pd.DataFrame(
        sorted(summary.get("reasons", {}).items(), key=lambda kv: -kv[1]),
        columns=["reason", "count"],
    )
    counts = manifest.get("counts", {})
    parts = [
        f"# augment run: {out.name}",
        "",
        f"Input `{cfg.input.path}` ({counts.get('rows', '?')} rows), modality {cfg.modality}, "
        f"pipeline `{cfg.pipeline.preset or 'spec'}`, seed {cfg.seed}, band "
        f"[{band.min_similarity}, {band.max_similarity}].",
        "",
        "| rows | candidates | accepted | rejected | errors |",
        "|---|---|---|---|---|",
        "| {rows} | {candidates} | {accepted} | {rejected} | {errors} |".format(
            **{
                k: counts.get(k, 0)
                for k in ("rows", "candidates", "accepted", "rejected", "errors")
            }
        ),
        "",
        "## Verdicts",
        "",
        md_table(reasons),
        "",
        "![similarity histogram](similarity.png)",
        "",
        "## Accept rate per operation",
        "",
        md_table(per_op.sort_values("candidates", ascending=False)),
        "",
        "![accept rate](accept_rate.png)" if len(per_op) else "",
        "",
        *_label_section(summary.get("labels", {})),
        "## Examples",
        "",
    ]
    for reason in ("accepted", "drift", "near_duplicate", "label_shift", "constraint", "invalid"):
        ex = both[both.reason == reason].head(5)
        if ex.empty:
            continue
        parts.append(f"### {reason}")
        parts.append("")
        parts += modality_named(cfg.modality).report_examples(ex)
        parts.append("")
    parts += [
        "## Versions",
        "",
        "```json",
        json.dumps(manifest.get("versions", {}), indent=2),
        "```",
        "",
    ]
    atomic_write_text(out / "report.md", "\n".join(parts))


def _label_section(labels: dict[str, list[int]]) -> list[str]:
    """The acceptance per label (planned, candidates, accepted, accept rate, shortfall): a filter
    that thins one class more than another shows here."""
    if not labels:
        return []
    t = pd.DataFrame(
        [[k, *v] for k, v in labels.items()], columns=["label", "planned", "candidates", "accepted"]
    )
    t["accept_rate"] = (t.accepted / t.candidates.clip(lower=1)).round(3)
    t["shortfall"] = (t.planned - t.accepted).clip(lower=0)
    return ["## Acceptance per label", "", md_table(t), ""]
