"""`augment run` for personas: fit a synthesizer on the input table, generate a segment's
personas, write them like any job (``accepted.parquet``, ``rejected.parquet``, ``errors.jsonl``,
``manifest.json``, ``report.md``).

A persona job is one unit of work (fitting needs the whole table), so it is not sharded: a rerun
of a finished job returns its manifest; an interrupted one starts over.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from augment.io.atomic import atomic_write_parquet, atomic_write_text
from augment.io.markdown import md_table
from augment.run.config import RunConfig
from augment.run.manifest import Manifest


def _read_table(path: Any) -> pd.DataFrame:
    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix == "parquet":
        return pd.read_parquet(path)
    if suffix in ("jsonl", "json"):
        return pd.read_json(path, lines=True)
    return pd.read_csv(path, sep="\t" if suffix == "tsv" else ",")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text, so every table writes to Parquet whatever its cells hold."""
    out = frame.copy()
    for col in out.select_dtypes(include="object").columns:
        out[col] = out[col].map(lambda x: None if x is None or x != x else str(x))
    return out


def run_persona_job(cfg: RunConfig, restart: bool = False) -> dict[str, Any]:
    """Run the persona job ``cfg`` (its ``persona`` section) and return its manifest."""
    from augment.persona.synthesizer import PersonaSynthesizer

    p = cfg.persona
    if p is None:
        raise ValueError("a persona job needs a `persona` section (segment, n, synthesizer)")
    cfg.output.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.open(cfg, restart=restart)
    if manifest.data.get("status") == "complete":
        return manifest.data
    table = _read_table(cfg.input.path)
    if cfg.input.limit is not None:
        table = table.head(cfg.input.limit)
    log = _read_table(p.interactions) if p.interactions is not None else None
    params = {"random_state": cfg.seed, **p.synthesizer}
    synth = PersonaSynthesizer.from_dict(params).fit(table, log)
    result = synth.generate(p.segment, p.n, interactions=log is not None)
    atomic_write_parquet(cfg.output / "accepted.parquet", _plain(result.personas))
    atomic_write_parquet(cfg.output / "rejected.parquet", _plain(result.rejected))
    atomic_write_text(cfg.output / "errors.jsonl", "")
    if result.interactions is not None:
        atomic_write_parquet(cfg.output / "interactions.parquet", _plain(result.interactions))
    summary = result.summary()
    counts = {
        "rows": len(table),
        "candidates": len(result.verdicts),
        "accepted": len(result.personas),
        "rejected": len(result.rejected),
        "errors": 0,
    }
    reasons = {str(r): int(n) for r, n in zip(summary["reason"], summary["count"])}
    manifest.mark(
        0,
        counts,
        {
            "reasons": reasons,
            "operations": {synth.method: [counts["candidates"], counts["accepted"]]},
        },
    )
    manifest.data.update(
        counts=counts,
        summary=manifest.summary(),
        segment=result.segment.name,
        shortfall=result.shortfall,
        status="complete",
        engine="local",
    )
    manifest.save()
    atomic_write_text(
        cfg.output / "report.md",
        "\n".join(
            [
                f"# augment run: {cfg.output.name}",
                "",
                f"Input `{cfg.input.path}` ({len(table)} rows), personas for segment "
                f"`{result.segment.name}` ({result.n_segment_rows} rows), method "
                f"{synth.method}, seed {cfg.seed}: asked for {p.n}, made "
                f"{len(result.personas)} (shortfall {result.shortfall}).",
                "",
                "## Verdicts",
                "",
                md_table(summary),
                "",
            ]
        ),
    )
    return manifest.data
