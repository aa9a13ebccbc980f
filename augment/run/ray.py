"""Run a job's shards on Ray Data: ``map_batches`` over shard indices with an actor per worker
that holds the pipeline and the filter (on a GPU when the cluster has one).

Each actor reads its own shard from the input (the path must be visible to every node: a shared
file system or object store path), so the driver streams only results. Output is identical to
the local engine for the same seed: shard contents depend only on the config, not on which actor
ran them or in what order.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pandas as pd

from augment.run.config import RunConfig
from augment.run.shard import ShardOutput


class _ShardActor:
    def __init__(self, config: dict[str, Any], counts: Any) -> None:
        from augment.run.shard import ShardProcessor

        self.cfg = RunConfig.from_dict(config)
        self.processor = ShardProcessor(self.cfg, counts)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from augment.run.inputs import read_shard

        out: dict[str, list] = {
            "shard": [],
            "accepted": [],
            "rejected": [],
            "errors": [],
            "counts": [],
            "summary": [],
        }
        for k in batch["shard"]:
            res = self.processor(read_shard(self.cfg.input, int(k), self.cfg.shard_rows))
            out["shard"].append(int(k))
            for name in ("accepted", "rejected", "errors"):
                buf = io.BytesIO()
                getattr(res, name).to_parquet(buf, index=False)
                out[name].append(buf.getvalue())
            out["counts"].append(res.counts)
            out["summary"].append(json.dumps(res.summary))
        return out


def _gpus() -> float:
    import ray

    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def run_shards(
    cfg: RunConfig, counts: Any, pending: list[int], actors: int = 2
) -> Iterator[ShardOutput]:
    """Process ``pending`` shards on Ray and yield their outputs as they complete."""
    import ray

    if not pending:
        return
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            include_dashboard=False,
            ignore_reinit_error=True,
            log_to_driver=False,
            logging_level="ERROR",
        )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"shard": k} for k in pending])
    ds = ds.map_batches(
        _ShardActor,
        fn_constructor_kwargs={"config": cfg.to_dict(), "counts": counts},
        batch_size=1,
        concurrency=max(1, min(actors, len(pending))),
        num_gpus=_gpus(),
        batch_format="default",
    )
    for row in ds.iter_rows():
        tables = {
            n: pd.read_parquet(io.BytesIO(row[n])) for n in ("accepted", "rejected", "errors")
        }
        yield ShardOutput(
            int(row["shard"]),
            tables["accepted"],
            tables["rejected"],
            tables["errors"],
            dict(row["counts"]),
            json.loads(row["summary"]),
        )
