"""`augment run`: a resumable job that pre-generates an augmented data set.

Input rows are cut into shards of ``shard_rows``. Each shard is processed (pipeline -> filter)
and its tables are written atomically under ``<output>/parts/``; then the manifest records the
shard as done. A rerun of the same config skips done shards, so a job killed at any moment
(SIGKILL included) finishes with exactly the output of an uninterrupted run. When all shards are
done, the parts are streamed, in shard order, into ``accepted.parquet``, ``rejected.parquet``
and ``errors.jsonl``, and ``report.md`` is written with its plots.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from augment.io.atomic import atomic_path, atomic_write_parquet, remove_temporaries
from augment.io.lock import folder_lock
from augment.pipeline import modality_named
from augment.run.config import ConfigError, RunConfig
from augment.run.inputs import InputError, InputScan, iter_shards, scan
from augment.run.manifest import Manifest
from augment.run.shard import (
    ERROR_SCHEMA,
    RECORD_SCHEMA,
    ShardOutput,
    ShardProcessor,
    build_filter,
    build_pipeline,
)
from augment.run.targets import Counts, job_counts, total_variants
from fidelity.progress import progress

log = logging.getLogger(__name__)
PARTS = "parts"
TABLES = ("accepted", "rejected", "errors")
SCHEMAS = {"accepted": RECORD_SCHEMA, "rejected": RECORD_SCHEMA, "errors": ERROR_SCHEMA}
#: Jobs that plan more variants than this run only when confirmed (``--yes``).
LARGE_JOB_VARIANTS = 1_000_000


class JobError(ValueError):
    """A job that cannot run as configured (nothing to do, too large unconfirmed)."""


@dataclass
class JobPlan:
    rows: int
    shards: int
    done: int
    variants: int
    counts: Counts
    scan: InputScan | None = None

    @property
    def notes(self) -> list[str]:
        """What the user should know before the job runs (files not read, unreadable rows,
        a size that needs confirming)."""
        out = list(self.scan.notes) if self.scan else []
        if self.scan and self.scan.unreadable:
            out.append(f"{self.scan.unreadable} row(s) cannot be read: they go to errors.jsonl")
        if self.variants > LARGE_JOB_VARIANTS:
            out.append(
                f"{self.variants:,} variants is a large job (more than "
                f"{LARGE_JOB_VARIANTS:,}): it runs only with --yes"
            )
        return out

    def describe(self, cfg: RunConfig) -> str:
        if cfg.pipeline is None:  # a job its modality runs itself (personas)
            section = getattr(cfg, cfg.modality, None)
            pipe = f"its {cfg.modality} section {section.model_dump(mode='json')}"
        else:
            pipe = cfg.pipeline.preset or f"spec ({cfg.pipeline.spec.get('type', '?')})"
        lines = [
            f"input      {cfg.input.path} ({cfg.input.resolved_format()}, {self.rows} rows)",
            f"modality   {cfg.modality}, pipeline {pipe}",
            f"targeting  {self.variants:,} variants in all",
            f"filter     band [{cfg.filter.min_similarity}, {cfg.filter.max_similarity}], "
            f"model {cfg.filter.model or 'default'}",
            f"seed       {cfg.seed}",
            f"shards     {self.shards} of {cfg.shard_rows} rows; {self.done} already done",
            f"output     {cfg.output}",
        ]
        return "\n".join(lines + [f"note       {n}" for n in self.notes])


def check_device(device: str | None) -> None:
    """A ``filter.device`` this machine has, or a :class:`ConfigError` saying what it has."""
    if device in (None, "auto", "cpu"):
        return
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"filter.device {device!r} is not a device name ({exc})") from None
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index is not None and dev.index >= n):
            raise ConfigError(
                f"filter.device {device!r}: this machine has {n} CUDA device(s)"
                + (f" (cuda:0 .. cuda:{n - 1})" if n else "; use cpu or leave device out")
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"filter.device {device!r}: MPS is not available on this machine")
    elif dev.type not in ("cuda", "mps", "cpu"):
        raise ConfigError(f"filter.device {device!r}: use cpu, cuda or cuda:N")


class Job:
    """Plan and run one config with the ``local`` or ``ray`` engine.

    Everything that can be checked is checked before anything is written: the config, the
    pipeline (preset and options), the device, the whole input (see
    :func:`augment.run.inputs.scan`), the plan against the input's ids, the output folder
    (a different job, or this job on an input that has changed since). The run holds the
    output folder's lock (:func:`augment.io.lock.folder_lock`) from start to end.
    """

    def __init__(
        self,
        cfg: RunConfig,
        engine: str = "local",
        restart: bool = False,
        show_progress: bool | None = None,
        ray_actors: int = 2,
        confirm_large: bool = False,
    ) -> None:
        if engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
        self.cfg = cfg
        self.engine = engine
        self.restart = restart
        self.show_progress = show_progress
        self.ray_actors = ray_actors
        self.confirm_large = confirm_large
        self._pipeline: Any = None

    # ------------------------------------------------------------------ planning
    @property
    def pipeline(self) -> Any:
        """The job's pipeline, built once; a preset or option it does not know is a
        :class:`ConfigError`."""
        if self._pipeline is None:
            try:
                self._pipeline = build_pipeline(self.cfg)
            except (ValueError, TypeError, KeyError) as exc:
                what = "pipeline.spec" if self.cfg.pipeline.spec else "pipeline"
                msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise ConfigError(f"{what}: {msg}") from None
        return self._pipeline

    def counts(self, input_scan: InputScan | None = None) -> Counts:
        """Variants per row (see :func:`augment.run.targets.job_counts`)."""
        if input_scan is None:
            input_scan = scan(self.cfg.input, labels=self.cfg.targeting.balance is not None)
        return job_counts(self.cfg, input_scan)

    def plan(self) -> JobPlan:
        """Check everything that can be checked without running, reading the whole input
        once; writes nothing."""
        cfg = self.cfg
        if modality_named(cfg.modality).run_job is not None:  # personas: one unit of work
            from augment.run.persona import _read_table

            if not cfg.input.path.is_file():
                raise InputError(f"input file {cfg.input.path} does not exist")
            rows = len(_read_table(cfg.input.path))
            n = cfg.persona.n if cfg.persona is not None else 0
            return JobPlan(rows, 1, 0, n, n)
        self.pipeline  # noqa: B018 - builds it, or names the problem
        check_device(cfg.filter.device)
        input_scan = scan(cfg.input, labels=cfg.targeting.balance is not None)
        if input_scan.rows == 0:
            raise InputError(f"{cfg.input.path}: no rows to augment (a header and nothing else?)")
        counts = self.counts(input_scan)
        variants = total_variants(counts, input_scan.rows)
        if variants == 0:
            raise JobError(
                f"the targeting plans 0 variants for the {input_scan.rows} rows of "
                f"{cfg.input.path}: nothing to do"
            )
        shards = -(-input_scan.rows // cfg.shard_rows)
        done = 0
        if (cfg.output / "manifest.json").is_file() and not self.restart:
            done = len(Manifest.open(cfg, fingerprint=input_scan.fingerprint).done)
        return JobPlan(input_scan.rows, shards, done, variants, counts, input_scan)

    # ------------------------------------------------------------------ running
    def run(self, plan: JobPlan | None = None) -> dict[str, Any]:
        """Run the job; ``plan`` is the one :meth:`plan` returned, if already made (planning
        reads the whole input)."""
        run_job = modality_named(self.cfg.modality).run_job
        if run_job is not None:  # a modality that is not one variant per row (personas)
            with folder_lock(self.cfg.output):
                return run_job(self.cfg, restart=self.restart)
        plan = plan or self.plan()
        if plan.variants > LARGE_JOB_VARIANTS and not self.confirm_large:
            raise JobError(
                f"the job plans {plan.variants:,} variants (more than {LARGE_JOB_VARIANTS:,}); "
                "check the targeting, then confirm with --yes"
            )
        processor = None
        if self.engine == "local":  # load the model now: a bad model or device fails here
            processor = ShardProcessor(self.cfg, plan.counts, self.pipeline, self._warm_filter())
        with folder_lock(self.cfg.output):
            return self._run_locked(plan, processor)

    def _warm_filter(self) -> Any:
        """The filter, with its encoder loaded on the input's first readable row."""
        flt = build_filter(self.cfg)
        first = next((s for sh in iter_shards(self.cfg.input, 1) for s in sh.sources), None)
        if first is not None:
            try:
                flt.warm(first.payload)
            except (OSError, ValueError, RuntimeError) as exc:
                raise ConfigError(
                    f"filter: the encoder cannot be loaded or run "
                    f"(model {self.cfg.filter.model or 'default'}, device "
                    f"{self.cfg.filter.device or 'auto'}, backend {self.cfg.filter.backend}): "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        return flt

    def _run_locked(self, plan: JobPlan, processor: ShardProcessor | None) -> dict[str, Any]:
        cfg = self.cfg
        remove_temporaries(cfg.output)  # what killed writers left behind
        if self.restart:
            for name in TABLES:
                for p in (cfg.output / PARTS).glob(f"{name}-*.parquet"):
                    p.unlink()
        fp = plan.scan.fingerprint if plan.scan else None
        manifest = Manifest.open(cfg, restart=self.restart, fingerprint=fp)
        manifest.data["status"] = "running"
        manifest.data["rows"] = plan.rows
        manifest.data["shards_total"] = plan.shards
        manifest.data["planned"] = plan.variants
        manifest.save()
        todo = plan.shards - len(manifest.done)
        tty = sys.stderr.isatty()
        show = self.show_progress if self.show_progress is not None else tty
        t0 = time.perf_counter()
        done_rows = 0
        bar = progress(plan.rows, "augment run", "row", enable=show, min_total=0)
        bar.update(sum(int(s["rows"]) for s in manifest.data["shards"].values()))
        with bar:
            for out in self._outputs(plan, manifest.done, processor):
                self._persist(out)
                manifest.mark(out.index, out.counts, out.summary)
                bar.update(out.counts["rows"])
                done_rows += out.counts["rows"]
                if not show:  # log-friendly: one line per shard
                    rate = done_rows / max(time.perf_counter() - t0, 1e-9)
                    c = out.counts
                    print(
                        f"shard {out.index + 1}/{plan.shards}: {c['rows']} rows, "
                        f"{c['accepted']} accepted, {c['rejected']} rejected, "
                        f"{c['errors']} errors ({rate:.1f} rows/s)",
                        file=sys.stderr,
                        flush=True,
                    )
        missing = set(range(plan.shards)) - manifest.done
        if missing:
            raise RuntimeError(f"shards {sorted(missing)[:10]} did not finish")
        manifest.data["status"] = "merging"
        manifest.save()
        self._merge(plan.shards)
        from augment.run.report import write_report

        manifest.data["counts"] = manifest.totals()
        manifest.data["summary"] = manifest.summary()
        manifest.data["models"] = self._models(manifest)
        manifest.data["engine"] = self.engine
        write_report(cfg, manifest.data)
        manifest.data["status"] = "complete"  # only once every file is written
        manifest.save()
        log.info(
            "job complete: %s (%d shards run now, %d resumed)",
            manifest.totals(),
            todo,
            plan.shards - todo,
        )
        return manifest.data

    def _outputs(
        self, plan: JobPlan, done: set[int], processor: ShardProcessor | None
    ) -> Iterator[ShardOutput]:
        if self.engine == "ray":
            from augment.run.ray import run_shards

            pending = [k for k in range(plan.shards) if k not in done]
            yield from run_shards(self.cfg, plan.counts, pending, self.ray_actors)
            return
        processor = processor or ShardProcessor(self.cfg, plan.counts, self.pipeline)
        for shard in iter_shards(self.cfg.input, self.cfg.shard_rows, skip=done):
            yield processor(shard)

    def _persist(self, out: ShardOutput) -> None:
        parts = self.cfg.output / PARTS
        for name in TABLES:
            atomic_write_parquet(
                parts / f"{name}-{out.index:06d}.parquet", getattr(out, name), SCHEMAS[name]
            )

    def _merge(self, n_shards: int) -> None:
        """Stream the parts, in shard order, into one file per table (memory stays flat);
        each final file is written under a temporary name of its own and renamed."""
        import pyarrow.parquet as pq

        from augment.io.json_values import json_default

        parts = self.cfg.output / PARTS
        for name in ("accepted", "rejected"):
            with atomic_path(self.cfg.output / f"{name}.parquet") as tmp:
                with pq.ParquetWriter(tmp, RECORD_SCHEMA) as writer:
                    for k in range(n_shards):
                        table = pq.read_table(parts / f"{name}-{k:06d}.parquet")
                        writer.write_table(table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA))
        with atomic_path(self.cfg.output / "errors.jsonl") as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                for k in range(n_shards):
                    table = pq.read_table(parts / f"errors-{k:06d}.parquet")
                    for rec in table.to_pylist():
                        fh.write(json.dumps(rec, default=json_default, ensure_ascii=False) + "\n")

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
    """The final tables of a finished job (``row``, ``line`` and ``variant`` of the errors as
    nullable integers)."""
    output = Path(output)
    with open(output / "errors.jsonl", encoding="utf-8") as fh:
        errors = pd.DataFrame([json.loads(line) for line in fh], columns=ERROR_SCHEMA.names)
    return {
        "accepted": pd.read_parquet(output / "accepted.parquet"),
        "rejected": pd.read_parquet(output / "rejected.parquet"),
        "errors": errors.astype({"row": "Int64", "line": "Int64", "variant": "Int64"}),
    }
