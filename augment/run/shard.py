"""One shard of a job: rows -> candidates -> verdicts -> tables (the unit both engines run)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from augment.augmenter import Augmenter, fit_filter
from augment.candidate import RECORD_COLUMNS
from augment.io.atomic import NO_SPACE
from augment.pipeline import modality_named
from augment.result import AugmentResult
from augment.run.config import RunConfig
from augment.run.inputs import Shard, iter_shards
from augment.run.targets import Counts, planned
from fidelity.filter import FidelityFilter

ERROR_COLUMNS = ["source_id", "row", "line", "variant", "stage", "error"]
#: Column types of the record tables and of the error table, the same in every shard (so an
#: empty shard's table keeps them, and ids and numbers stay ids and integers on the way out).
RECORD_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("source_id", pa.string()),
        ("variant", pa.int64()),
        ("label", pa.string()),
        ("payload", pa.string()),
        ("similarity", pa.float64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("operations", pa.string()),
        ("seed", pa.int64()),
        ("version", pa.string()),
    ]
)
ERROR_SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("row", pa.int64()),
        ("line", pa.int64()),
        ("variant", pa.int64()),
        ("stage", pa.string()),
        ("error", pa.string()),
    ]
)


def build_pipeline(cfg: RunConfig) -> Any:
    """The modality pipeline a config names (a preset with options, or a full spec)."""
    p = cfg.pipeline
    return modality_named(cfg.modality).build_pipeline(p.preset, p.options, p.spec)


_FILTERS: dict[str, FidelityFilter] = {}


def build_filter(cfg: RunConfig) -> FidelityFilter:
    """The filter a config's ``filter`` section describes, for its modality. The last one built
    is kept, so that jobs with the same section run one after another in one process load the
    model once (and a process that runs jobs with other models holds only one). A label check
    in it is fitted on every input row of this job with its label (the same fit in every
    shard and process), on every call: a kept filter may have learnt another job's input."""
    key = json.dumps([cfg.modality, cfg.filter.model_dump(mode="json"), cfg.shard_rows])
    if key not in _FILTERS:
        _FILTERS.clear()
        _FILTERS[key] = modality_named(cfg.modality).config_filter(cfg.filter, cfg.shard_rows)
    flt = _FILTERS[key]
    if any(c.name == "label" for c in getattr(flt, "checks", ())):
        if cfg.input.label_column is None and cfg.input.resolved_format() in (
            "csv",
            "jsonl",
            "parquet",
        ):
            raise ValueError("filter.checks has a label check, but input.label_column is unset")
        rows = [s for shard in iter_shards(cfg.input, 10_000) for s in shard.sources]
        fit_filter(flt, rows, what="input rows", force=True)
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
    """Builds the pipeline and filter once per process (or takes the ones a job already
    built) and turns shards into tables.

    Image payloads of accepted and rejected variants are written as PNG files under
    ``<output>/images/`` and the tables hold their relative path.

    Accounting: each shard's ``planned`` variants (the plan's count for every row of the shard)
    equal ``accepted + rejected + errors``: a row that cannot be read gives one error record per
    variant planned for it (and, with none planned, one record with no variant, counted in
    ``row_errors`` only); a variant whose pipeline raised, or whose payload cannot be written
    (a name the file system refuses), is one error record. A disk that is full stops the job.
    """

    def __init__(
        self,
        cfg: RunConfig,
        counts: Counts,
        pipeline: Any = None,
        fidelity_filter: FidelityFilter | None = None,
    ) -> None:
        self.cfg = cfg
        self.counts = counts
        self._pipeline = pipeline
        self._filter = fidelity_filter
        self._augmenter: Augmenter | None = None

    @property
    def augmenter(self) -> Augmenter:
        if self._augmenter is None:
            self._augmenter = Augmenter(
                self._pipeline if self._pipeline is not None else build_pipeline(self.cfg),
                self._filter if self._filter is not None else build_filter(self.cfg),
                0,
                self.cfg.seed,
                show_progress=False,
                top_up=self.cfg.filter.top_up,
                max_attempts=self.cfg.filter.max_attempts,
            )
        return self._augmenter

    def _shard_counts(self, shard: Shard) -> Counts:
        if isinstance(self.counts, int):
            return self.counts
        return {s.id: self.counts.get(s.id, 0) for s in shard.sources}

    def __call__(self, shard: Shard) -> ShardOutput:
        aug = self.augmenter
        result = aug.run(shard.sources, n_variants=self._shard_counts(shard))
        modality = modality_named(self.cfg.modality)
        errors: list[dict[str, Any]] = []
        for e in shard.errors:
            n = planned(self.counts, e["source_id"])
            variants: list[int | None] = list(range(n)) if n else [None]
            errors += [{**e, "variant": v} for v in variants]
        rows = {s.id: shard.start + k for k, s in enumerate(shard.sources)}
        errors += [
            _variant_error(e["source_id"], rows, e["variant"], "augment", e["error"])
            for e in result.errors
        ]
        records = []
        for c in result.candidates:
            try:
                written = modality.write_payload(c.payload, self.cfg.output, c.candidate_id)
            except OSError as exc:
                if exc.errno in NO_SPACE:
                    raise
                errors.append(
                    _variant_error(
                        c.source_id, rows, c.variant, "write", f"{type(exc).__name__}: {exc}"
                    )
                )
                continue
            records.append(c.to_record(written))
        table = _normalise(pd.DataFrame(records, columns=RECORD_COLUMNS))
        err = pd.DataFrame(errors, columns=ERROR_COLUMNS)
        accepted = table[table.reason == "accepted"].reset_index(drop=True)
        rejected = table[table.reason != "accepted"].reset_index(drop=True)
        if hasattr(aug.fidelity_filter.encoder, "clear_cache"):
            aug.fidelity_filter.encoder.clear_cache()  # memory stays flat across shards
        n_planned = sum(planned(self.counts, s.id) for s in shard.sources) + sum(
            planned(self.counts, e["source_id"]) for e in shard.errors
        )
        variant_errors = int(err.variant.notna().sum())
        # top-up (filter.top_up) draws variants past the plan's count for labels left short
        topped_up = sum(
            c.variant >= planned(self.counts, c.source_id) for c in result.candidates
        ) + sum(e["variant"] >= planned(self.counts, e["source_id"]) for e in result.errors)
        counts = {
            "rows": shard.stop - shard.start,
            "planned": n_planned,
            "candidates": len(table),
            "accepted": len(accepted),
            "rejected": len(rejected),
            "errors": variant_errors,
            "row_errors": len(shard.errors),
        }
        if topped_up:
            counts["topped_up"] = int(topped_up)
        if (
            n_planned + topped_up != len(accepted) + len(rejected) + variant_errors
        ):  # pragma: no cover
            raise RuntimeError(f"shard {shard.index}: accounting broke: {counts}")
        summary = {**summaries(result), "encoder": getattr(aug.filter.encoder, "name", "?")}
        return ShardOutput(shard.index, accepted, rejected, err, counts, summary)


def _variant_error(
    source_id: Any, rows: dict[Any, int], variant: int, stage: str, error: str
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "row": rows.get(source_id),
        "line": None,
        "variant": variant,
        "stage": stage,
        "error": error,
    }


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Column types that round-trip through Parquet the same way in every shard."""
    table["source_id"] = table["source_id"].astype(str)
    table["label"] = table["label"].map(lambda x: None if x is None else str(x)).astype(object)
    table["payload"] = table["payload"].astype(object)
    table["variant"] = table["variant"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    table["similarity"] = table["similarity"].astype("float64")
    return table
