"""One shard of a job: rows -> candidates -> verdicts -> tables (the unit both engines run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from augment.augmenter import Augmenter, fit_filter
from augment.candidate import RECORD_COLUMNS
from augment.pipeline import modality_named
from augment.result import AugmentResult
from augment.run.config import RunConfig
from augment.run.inputs import Shard, iter_shards
from fidelity.filter import FidelityFilter

ERROR_COLUMNS = ["source_id", "row", "variant", "stage", "error"]


def build_pipeline(cfg: RunConfig) -> Any:
    """The modality pipeline a config names (a preset with options, or a full spec)."""
    p = cfg.pipeline
    return modality_named(cfg.modality).build_pipeline(p.preset, p.options, p.spec)


def build_filter(cfg: RunConfig) -> FidelityFilter:
    """The filter a config's ``filter`` section describes, for its modality; a label check in
    it is fitted on every input row with its label (the same fit in every shard and process)."""
    flt = modality_named(cfg.modality).config_filter(cfg.filter, cfg.shard_rows)
    if flt.needs_fit:
        if cfg.input.label_column is None and cfg.input.resolved_format() in (
            "csv",
            "jsonl",
            "parquet",
        ):
            raise ValueError("filter.checks has a label check, but input.label_column is unset")
        rows = [s for shard in iter_shards(cfg.input, 10_000) for s in shard.sources]
        fit_filter(flt, rows, what="input rows")
    return flt


@dataclass
class ShardOutput:
    index: int
    accepted: pd.DataFrame
    rejected: pd.DataFrame
    errors: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    #: The result's own summaries (verdict reasons, candidates and accepted per operation
    #: chain), kept in the manifest so that the report adds them up instead of re-reading.
    summary: dict[str, Any] = field(default_factory=dict)


def summaries(result: AugmentResult) -> dict[str, Any]:
    """A result's summaries in plain JSON: counts per verdict reason and, per operation chain,
    candidates and accepted."""
    reasons = result.summary()
    reasons = reasons[~reasons.reason.isin(["error", "shortfall"])]
    per_op = result.accept_rate_by_operation()
    return {
        "reasons": {str(r): int(n) for r, n in zip(reasons["reason"], reasons["count"])},
        "operations": {
            str(r.op_chain): [int(r.candidates), int(r.accepted)] for r in per_op.itertuples()
        },
        "labels": {
            str(r.label): [int(r.planned), int(r.candidates), int(r.accepted)]
            for r in result.acceptance_by_label().itertuples()
        },
    }


class ShardProcessor:
    """Builds the pipeline and filter once per process and turns shards into tables.

    Image payloads of accepted and rejected variants are written as PNG files under
    ``<output>/images/`` and the tables hold their relative path.
    """

    def __init__(self, cfg: RunConfig, counts: int | dict[Any, int]) -> None:
        self.cfg = cfg
        self.counts = counts
        self._augmenter: Augmenter | None = None

    @property
    def augmenter(self) -> Augmenter:
        if self._augmenter is None:
            self._augmenter = Augmenter(
                build_pipeline(self.cfg),
                build_filter(self.cfg),
                self.counts,
                self.cfg.seed,
                show_progress=False,
                top_up=self.cfg.filter.top_up,
                max_attempts=self.cfg.filter.max_attempts,
            )
        return self._augmenter

    def __call__(self, shard: Shard) -> ShardOutput:
        aug = self.augmenter
        result = aug.run(shard.sources)
        modality = modality_named(self.cfg.modality)
        rows = [
            c.to_record(modality.write_payload(c.payload, self.cfg.output, c.candidate_id))
            for c in result.candidates
        ]
        table = pd.DataFrame(rows, columns=RECORD_COLUMNS)
        table = _normalise(table)
        errors = [{**e, "stage": e.get("stage", "read")} for e in shard.errors]
        errors += [
            {
                "source_id": e["source_id"],
                "variant": e["variant"],
                "stage": "augment",
                "error": e["error"],
            }
            for e in result.errors
        ]
        err = pd.DataFrame(errors, columns=ERROR_COLUMNS)
        err = err.astype({"source_id": str, "stage": str, "error": str})
        accepted = table[table.reason == "accepted"].reset_index(drop=True)
        rejected = table[table.reason != "accepted"].reset_index(drop=True)
        if hasattr(aug.fidelity_filter.encoder, "clear_cache"):
            aug.fidelity_filter.encoder.clear_cache()  # memory stays flat across shards
        counts = {
            "rows": shard.stop - shard.start,
            "candidates": len(table),
            "accepted": len(accepted),
            "rejected": len(rejected),
            "errors": len(err),
        }
        summary = {**summaries(result), "encoder": getattr(aug.filter.encoder, "name", "?")}
        return ShardOutput(shard.index, accepted, rejected, err, counts, summary)


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Column types that round-trip through Parquet the same way in every shard."""
    table["source_id"] = table["source_id"].astype(str)
    table["label"] = table["label"].map(lambda x: None if x is None else str(x)).astype(object)
    table["variant"] = table["variant"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    table["similarity"] = table["similarity"].astype("float64")
    return table
