"""`augment run`: a resumable job that pre-generates an augmented data set.

Input rows are cut into shards of ``shard_rows``. Each shard is processed (pipeline -> filter)
and its tables are written atomically under ``<output>/parts/``; then the manifest records the
shard as done. A rerun of the same config skips done shards, so a job killed at any moment
(SIGKILL included) finishes with exactly the output of an uninterrupted run. When all shards are
done, the parts are streamed, in shard order, into ``accepted.parquet``, ``rejected.parquet``
and ``errors.jsonl``, and ``report.md`` is written with its plots.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from augment.io.atomic import atomic_write_parquet
from augment.pipeline import modality_named
from augment.run.config import RunConfig
from augment.run.inputs import count_rows, iter_shards, read_labels
from augment.run.manifest import Manifest
from augment.run.shard import ShardOutput, ShardProcessor
from augment.targeting import plan_by_balance, plan_counts
from fidelity.progress import progress

log = logging.getLogger(__name__)
PARTS = "parts"
TABLES = ("accepted", "rejected", "errors")


@dataclass
class JobPlan:
    rows: int
    shards: int
    done: int
    variants: int
    counts: int | dict[Any, int]

    def describe(self, cfg: RunConfig) -> str:
        if cfg.pipeline is None:  # a job its modality runs itself (personas)
            section = getattr(cfg, cfg.modality, None)
            pipe = f"its {cfg.modality} section {section.model_dump(mode='json')}"
        else:
            pipe = cfg.pipeline.preset or f"spec ({cfg.pipeline.spec.get('type', '?')})"
        return "\n".join(
            [
                f"input      {cfg.input.path} ({cfg.input.resolved_format()}, {self.rows} rows)",
                f"modality   {cfg.modality}, pipeline {pipe}",
                f"targeting  {self.variants} variants in all",
                f"filter     band [{cfg.filter.min_similarity}, {cfg.filter.max_similarity}], "
                f"model {cfg.filter.model or 'default'}",
                f"seed       {cfg.seed}",
                f"shards     {self.shards} of {cfg.shard_rows} rows; {self.done} already done",
                f"output     {cfg.output}",
            ]
        )


class Job:
    """Plan and run one config with the ``local`` or ``ray`` engine."""

    def __init__(
        self,
        cfg: RunConfig,
        engine: str = "local",
        restart: bool = False,
        show_progress: bool | None = None,
        ray_actors: int = 2,
    ) -> None:
        if engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
        self.cfg = cfg
        self.engine = engine
        self.restart = restart
        self.show_progress = show_progress
        self.ray_actors = ray_actors

    # ------------------------------------------------------------------ planning
    def counts(self) -> int | dict[Any, int]:
        t = self.cfg.targeting
        if t.n_variants is not None:
            return t.n_variants
        if t.plan is not None:
            if not t.plan.is_file():
                raise FileNotFoundError(f"targeting.plan {t.plan} does not exist")
            plan = pd.read_csv(t.plan)
            plan["source_id"] = plan["source_id"].astype(str)
            return {str(k): v for k, v in plan_counts(plan).items()}
        ids, labels = read_labels(self.cfg.input)
        b = t.balance
        plan = plan_by_balance(
            [str(x) for x in labels],
            b.budget,
            b.target_share,
            ids=ids,
            max_per_row=b.max_per_row,
            random_state=self.cfg.seed,
        )
        return plan_counts(plan)

    def plan(self) -> JobPlan:
        rows = count_rows(self.cfg.input)
        counts = self.counts()
        shards = -(-rows // self.cfg.shard_rows)
        if isinstance(counts, int):
            variants = counts * rows
        else:
            variants = int(sum(counts.values()))
        manifest_path = self.cfg.output / "manifest.json"
        done = 0
        if manifest_path.is_file() and not self.restart:
            done = len(Manifest.open(self.cfg).done)
        return JobPlan(rows, shards, done, variants, counts)

    # ------------------------------------------------------------------ running
    def run(self, plan: JobPlan | None = None) -> dict[str, Any]:
        """Run the job; ``plan`` is the one :meth:`plan` returned, if already made (counting
        rows and planning targets read the whole input)."""
        cfg = self.cfg
        run_job = modality_named(cfg.modality).run_job
        if run_job is not None:  # a modality that is not one variant per row (personas)
            return run_job(cfg, restart=self.restart)
        plan = plan or self.plan()
        cfg.output.mkdir(parents=True, exist_ok=True)
        if self.restart:
            for name in TABLES:
                for p in (cfg.output / PARTS).glob(f"{name}-*.parquet"):
                    p.unlink()
        manifest = Manifest.open(cfg, restart=self.restart)
        manifest.data["status"] = "running"
        manifest.data["rows"] = plan.rows
        manifest.data["shards_total"] = plan.shards
        manifest.save()
        todo = plan.shards - len(manifest.done)
        tty = sys.stderr.isatty()
        show = self.show_progress if self.show_progress is not None else tty
        t0 = time.perf_counter()
        done_rows = 0
        bar = progress(plan.rows, "augment run", "row", enable=show, min_total=0)
        bar.update(sum(int(s["rows"]) for s in manifest.data["shards"].values()))
        with bar:
            for out in self._outputs(plan, manifest.done):
                self._persist(out)
                manifest.mark(out.index, out.counts, out.summary)
                bar.update(out.counts["rows"])
                done_rows += out.counts["rows"]
                if not show:  # log-friendly: one line per shard
                    rate = done_rows / max(time.perf_counter() - t0, 1e-9)
                    print(
                        f"shard {out.index + 1}/{plan.shards}: {out.counts['rows']} rows, "
                        f"{out.counts['accepted']} accepted, {out.counts['rejected']} rejected, "
                        f"{out.counts['errors']} errors ({rate:.1f} rows/s)",
                        file=sys.stderr,
                        flush=True,
                    )
        missing = set(range(plan.shards)) - manifest.done
        if missing:
            raise RuntimeError(f"shards {sorted(missing)[:10]} did not finish")
        self._merge(plan.shards)
        from augment.run.report import write_report

        manifest.data["counts"] = manifest.totals()
        manifest.data["summary"] = manifest.summary()
        manifest.data["models"] = self._models(manifest)
        manifest.data["status"] = "complete"
        manifest.data["engine"] = self.engine
        manifest.save()
        write_report(cfg, manifest.data)
        log.info(
            "job complete: %s (%d shards run now, %d resumed)",
            manifest.totals(),
            todo,
            plan.shards - todo,
        )
        return manifest.data

    def _outputs(self, plan: JobPlan, done: set[int]) -> Iterator[ShardOutput]:
        if self.engine == "ray":
            from augment.run.ray import run_shards

            pending = [k for k in range(plan.shards) if k not in done]
            yield from run_shards(self.cfg, plan.counts, pending, self.ray_actors)
            return
        processor = ShardProcessor(self.cfg, plan.counts)
        for shard in iter_shards(self.cfg.input, self.cfg.shard_rows, skip=done):
            yield processor(shard)

    def _persist(self, out: ShardOutput) -> None:
        parts = self.cfg.output / PARTS
        for name in TABLES:
            atomic_write_parquet(parts / f"{name}-{out.index:06d}.parquet", getattr(out, name))

    def _merge(self, n_shards: int) -> None:
        """Stream the parts, in shard order, into one file per table (memory stays flat)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from augment.io.atomic import atomic_write_text

        parts = self.cfg.output / PARTS
        for name in ("accepted", "rejected"):
            final = self.cfg.output / f"{name}.parquet"
            tmp = final.with_name(f".{final.name}.tmp")
            writer = None
            for k in range(n_shards):
                table = pq.read_table(parts / f"{name}-{k:06d}.parquet")
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(
                    table.cast(writer.schema) if table.schema != writer.schema else table
                )
            if writer is None:
                pq.write_table(pa.table({}), tmp)
            else:
                writer.close()
            tmp.replace(final)
        lines = []
        for k in range(n_shards):
            err = pd.read_parquet(parts / f"errors-{k:06d}.parquet")
            lines += [r.to_json() for _, r in err.iterrows()]
        atomic_write_text(self.cfg.output / "errors.jsonl", "".join(x + "\n" for x in lines))

    def _models(self, manifest: Manifest) -> dict[str, Any]:
        """The encoder(s) that judged the job, by name, as the shards recorded them."""
        names = sorted(
            {
                s["summary"]["encoder"]
                for s in manifest.data["shards"].values()
                if s.get("summary", {}).get("encoder")
            }
        )
        return {f"{self.cfg.modality}_encoder": names[0] if len(names) == 1 else names}


def load_tables(output: str | Path) -> dict[str, pd.DataFrame]:
    """The final tables of a finished job."""
    output = Path(output)
    return {
        "accepted": pd.read_parquet(output / "accepted.parquet"),
        "rejected": pd.read_parquet(output / "rejected.parquet"),
        "errors": pd.read_json(output / "errors.jsonl", lines=True)
        if (output / "errors.jsonl").stat().st_size
        else pd.DataFrame(),
    }
