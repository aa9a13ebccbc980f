"""One shard of a job: rows -> candidates -> verdicts -> tables (the unit both engines run)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.config import RunConfig
from augment.io.inputs import Shard
from augment.io.json_values import json_default
from augment.runner import Augmenter
from fidelity.filter import FidelityFilter

RECORD_COLUMNS = [
    "candidate_id",
    "source_id",
    "variant",
    "label",
    "payload",
    "similarity",
    "reason",
    "detail",
    "operations",
    "seed",
    "version",
]
ERROR_COLUMNS = ["source_id", "row", "variant", "stage", "error"]


def build_pipeline(cfg: RunConfig) -> Any:
    """The modality pipeline a config names (a preset with options, or a full spec)."""
    if cfg.modality == "text":
        from augment.text import TextPipeline as cls
    else:
        from augment.image import ImagePipeline as cls
    if cfg.pipeline.preset is not None:
        return cls.from_preset(cfg.pipeline.preset, **cfg.pipeline.options)
    return cls.from_dict(cfg.pipeline.spec)


def build_filter(cfg: RunConfig) -> FidelityFilter:
    f = cfg.filter
    if cfg.modality == "text":
        from fidelity.encoders.text import TextEncoder

        encoder = TextEncoder(
            model=f.model,
            device=f.device,
            batch_size=f.batch_size,
            cache_size=max(10_000, 2 * cfg.shard_rows),
        )
    else:
        from fidelity.encoders.image import ImageEncoder

        encoder = ImageEncoder(device=f.device, batch_size=f.batch_size)
    return FidelityFilter(encoder, f.min_similarity, f.max_similarity)


@dataclass
class ShardOutput:
    index: int
    accepted: pd.DataFrame
    rejected: pd.DataFrame
    errors: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


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
            )
        return self._augmenter

    def __call__(self, shard: Shard) -> ShardOutput:
        aug = self.augmenter
        result = aug.run(shard.sources)
        rows = []
        for c in result.candidates:
            v = c.verdict
            rows.append(
                {
                    "candidate_id": c.candidate_id,
                    "source_id": c.source_id,
                    "variant": c.variant,
                    "label": c.label,
                    "payload": self._payload(c),
                    "similarity": float(v.similarity) if not math.isnan(v.similarity) else None,
                    "reason": v.reason.value,
                    "detail": v.detail,
                    "operations": json.dumps(
                        [op.to_dict() for op in c.operations], default=json_default
                    ),
                    "seed": c.seed,
                    "version": c.version,
                }
            )
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
        return ShardOutput(shard.index, accepted, rejected, err, counts)

    def _payload(self, c: Any) -> Any:
        if self.cfg.modality == "text":
            return c.payload
        import cv2

        img = c.payload["image"] if isinstance(c.payload, dict) else c.payload
        img = np.asarray(img)
        if img.dtype != np.uint8:
            img = np.clip(np.asarray(img, dtype=np.float32) * 255.0, 0, 255).astype(np.uint8)
        if img.ndim == 3 and img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        safe = str(c.candidate_id).replace("/", "__").replace(":", "_")
        rel = Path("images") / f"{safe}.png"
        ok, buf = cv2.imencode(".png", img)
        if not ok:
            raise ValueError(f"cannot encode candidate {c.candidate_id} as PNG")
        from augment.io.atomic import atomic_write_bytes

        atomic_write_bytes(self.cfg.output / rel, buf.tobytes())
        return rel.as_posix()


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Column types that round-trip through Parquet the same way in every shard."""
    table["source_id"] = table["source_id"].astype(str)
    table["label"] = table["label"].map(lambda x: None if x is None else str(x)).astype(object)
    table["variant"] = table["variant"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    table["similarity"] = table["similarity"].astype("float64")
    return table
