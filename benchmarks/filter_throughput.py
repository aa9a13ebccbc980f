"""Text filter throughput against plain ``SentenceTransformer.encode``, side by side, in one run.

Builds (source, candidate) pairs from the shared text sets (each source with 4 EDA-style
candidates: 2 word swaps, 2 word deletions), splits them into rounds and, round by round with the
order of the contenders rotating (so that load from the other jobs on the machine hits them alike),
times

* **filter (default)**: ``FidelityFilter.judge`` with ``TextEncoder()``: on a CPU, ONNX Runtime
  (strings in, verdicts out; a fresh encoder cache every round);
* **filter (torch)**: the same with ``TextEncoder(backend="torch")``, the fp32 PyTorch reference;
* **encode**: one ``SentenceTransformer.encode`` call over every pair's source and candidate
  (sorted and batched by sentence-transformers, batch 32): the baseline of the 3x target.

It prints the median rate of each and the median per-round ratio ``filter pairs/s / (encode
sentences/s / 2)``, the share of accept/reject decisions of the default filter that agree with the
torch reference, and the largest cosine difference. ``--rss`` measures the filter's peak resident
memory in a fresh process at 20,000 and 200,000 pairs.

    python benchmarks/filter_throughput.py                   # 20,000 pairs (the issue's size)
    python benchmarks/filter_throughput.py --pairs 4000      # quicker
    python benchmarks/filter_throughput.py --rss-only        # memory only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.candidate import sample_seed  # noqa: E402
from augment.text import RandomDeletion, RandomSwap  # noqa: E402
from fidelity import FidelityFilter, TextEncoder  # noqa: E402

#: ``$AUGMENT_SHARED_DATA``, else ``../shared/data`` beside the repository
SHARED_DATA = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))
SHARED = SHARED_DATA / "text"
BAND = (0.7, 0.98)


def machine() -> str:
    """CPU model, cores, torch threads and the load average (the machine is shared)."""
    name = f"{os.cpu_count()} cores"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{name}, {torch.get_num_threads()} torch threads, load average {load}"


def load_sources(n: int, seed: int) -> list[str]:
    texts: list[str] = []
    for name in ("sst2", "cr", "trec"):
        with open(SHARED / name / "train.txt", encoding="utf-8") as fh:
            texts += [ln.split("\t", 1)[1].strip() for ln in fh if "\t" in ln]
    texts = sorted({t for t in texts if len(t.split()) >= 4})
    random.Random(seed).shuffle(texts)
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} usable sentences, {n} sources asked for")
    return texts[:n]


def make_pairs(sources: list[str], per_source: int, seed: int) -> tuple[list[str], list[str]]:
    ops = [RandomSwap(aug_p=0.1), RandomDeletion(aug_p=0.1)]
    src, cand = [], []
    for i, s in enumerate(sources):
        for v in range(per_source):
            out, _ = ops[v % 2].apply(s, sample_seed(seed, i, v))
            src.append(s)
            cand.append(out)
    return src, cand


def tiny_model(folder: Path) -> str:
    """A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer, as a sentence model in
    ``folder``: the filter's own memory at 200,000 pairs without an hour of MiniLM arithmetic."""
    import shutil

    from transformers import BertConfig, BertModel

    from fidelity.encoders.text import default_model_path

    src = Path(default_model_path())
    shutil.copytree(
        src, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors", "*.bin")
    )
    cfg = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(folder)
    pool = json.loads((folder / "1_Pooling" / "config.json").read_text())
    pool["word_embedding_dimension"] = 32
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    return str(folder)


def peak_rss_mb(pairs: int, shard: int, model: str | None) -> float:
    """Peak RSS (MB) of a fresh process that filters ``pairs`` pairs in shards of ``shard``."""
    code = (
        "import resource, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "from filter_throughput import rss_child; rss_child(*map(int, sys.argv[3:5]), sys.argv[5])"
    )
    args = [
        sys.executable,
        "-c",
        code,
        str(REPO),
        str(REPO / "benchmarks"),
        str(pairs),
        str(shard),
        model or "",
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def rss_child(pairs: int, shard: int, model: str) -> None:
    """Run in the child: filter distinct pairs shard by shard (as ``augment run`` does, cache
    emptied per shard) and print the peak RSS in MB."""
    base_src, base_cand = make_pairs(load_sources(2_500, 1), 4, 1)
    enc = TextEncoder(model or None, cache_size=100_000)
    flt = FidelityFilter(enc, *BAND)
    done = accepted = 0
    while done < pairs:
        k = min(shard, pairs - done)
        idx = [(done + j) % len(base_src) for j in range(k)]
        tag = [f" ({(done + j) // len(base_src)})" for j in range(k)]
        verdicts = flt.judge(
            [base_src[i] + t for i, t in zip(idx, tag)],
            [base_cand[i] + t for i, t in zip(idx, tag)],
        )
        accepted += sum(v.accepted for v in verdicts)
        enc.clear_cache()
        done += k
    print(accepted, file=sys.stderr)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--per-source", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians over them)")
    ap.add_argument("--device", default=None, help="cuda / cpu (default: cuda when present)")
    ap.add_argument("--baseline-batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rss", action="store_true", help="also measure peak RSS (20k, 200k pairs)")
    ap.add_argument("--rss-only", action="store_true")
    ap.add_argument(
        "--rss-model",
        default="tiny",
        help="sentence model for the RSS runs: a folder, 'minilm' (the packaged one) or 'tiny' "
        "(default: a 2-layer random BERT with MiniLM's tokenizer, for the filter's own memory)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    figures: dict = {"machine_at_start": machine(), "torch": torch.__version__}
    print(figures["machine_at_start"])
    if not args.rss_only:
        figures.update(time_contenders(args))
    if args.rss or args.rss_only:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            model = {"tiny": lambda: tiny_model(Path(tmp) / "tiny"), "minilm": lambda: None}.get(
                args.rss_model, lambda: args.rss_model
            )()
            rss = {n: peak_rss_mb(n, 20_000, model) for n in (20_000, 200_000)}
        figures["rss_model"] = args.rss_model
        figures["peak_rss_mb"] = {str(n): round(v, 1) for n, v in rss.items()}
        print(
            f"peak RSS of the filter in a fresh process: 20,000 pairs {rss[20_000]:.0f} MB, "
            f"200,000 pairs {rss[200_000]:.0f} MB ({rss[200_000] / rss[20_000]:.2f}x)"
        )
    figures["machine_at_end"] = machine()
    print(figures["machine_at_end"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def time_contenders(args: argparse.Namespace) -> dict:
    n_src = args.pairs // args.per_source
    src, cand = make_pairs(load_sources(n_src, args.seed), args.per_source, args.seed)
    n = len(src)
    print(
        f"{n} pairs from {n_src} sources ({args.per_source} candidates each), "
        f"{len(set(src + cand))} distinct texts, {args.rounds} interleaved rounds"
    )
    fast_enc = TextEncoder(device=args.device)
    ref_enc = TextEncoder(device=args.device, backend="torch")
    st = ref_enc.sentence_transformer  # the same weights serve the baseline
    fast = FidelityFilter(fast_enc, *BAND)
    ref = FidelityFilter(ref_enc, *BAND)
    for flt in (fast, ref):  # load and warm up
        flt.judge(src[:64], cand[:64])
        flt.encoder.clear_cache()
    st.encode(src[:64] + cand[:64], batch_size=args.baseline_batch_size)
    print(f"default filter runs on {fast_enc.runtime}, the reference on {ref_enc.runtime}")

    def run_filter(flt: FidelityFilter, a: int, b: int) -> list:
        flt.encoder.clear_cache()
        return flt.judge(src[a:b], cand[a:b])

    def run_encode(a: int, b: int) -> np.ndarray:
        emb = st.encode(
            src[a:b] + cand[a:b], batch_size=args.baseline_batch_size, normalize_embeddings=True
        )
        return np.einsum("ij,ij->i", emb[: b - a], emb[b - a :])

    contenders = {
        "filter (default)": lambda a, b: run_filter(fast, a, b),
        "filter (torch)": lambda a, b: run_filter(ref, a, b),
        "encode": run_encode,
    }
    names = list(contenders)
    rates: dict[str, list[float]] = {k: [] for k in names}
    results: dict[str, list] = {k: [] for k in names}
    bounds = np.linspace(0, n_src, args.rounds + 1).astype(int) * args.per_source
    for r, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        order = names[r % 3 :] + names[: r % 3]
        for name in order:
            t0 = time.perf_counter()
            out = contenders[name](a, b)
            dt = time.perf_counter() - t0
            results[name].append(out)
            rates[name].append((b - a) / dt)  # pairs/s
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {rates[k][-1]:.1f} pairs/s" for k in names)
            + f"   [{machine().split('load average ')[1]}]",
            flush=True,
        )

    fast_v = [v for chunk in results["filter (default)"] for v in chunk]
    ref_v = [v for chunk in results["filter (torch)"] for v in chunk]
    base_sims = np.concatenate(results["encode"])
    fast_sims = np.array([v.similarity for v in fast_v])
    ref_sims = np.array([v.similarity for v in ref_v])
    agree = float(np.mean([x.accepted == y.accepted for x, y in zip(fast_v, ref_v)]))
    same_reason = float(np.mean([x.reason == y.reason for x, y in zip(fast_v, ref_v)]))
    scored = [i for i, v in enumerate(ref_v) if v.detail != "identical to its source"]
    max_diff = float(np.max(np.abs(fast_sims - ref_sims)[scored]))
    max_diff_st = float(np.max(np.abs(ref_sims - base_sims)[scored]))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    # encode's pairs/s is its sentences/s / 2 (two texts per pair): the per-pair rate of the target
    ratio = [f / e for f, e in zip(rates["filter (default)"], rates["encode"])]
    ratio_ref = [f / e for f, e in zip(rates["filter (torch)"], rates["encode"])]
    figures = {
        "device": str(st.device),
        "runtime": fast_enc.runtime,
        "pairs": n,
        "rounds": args.rounds,
        "filter_default_pairs_per_s": round(med["filter (default)"], 1),
        "filter_torch_pairs_per_s": round(med["filter (torch)"], 1),
        "encode_sentences_per_s": round(2 * med["encode"], 1),
        "speedup_default_over_encode": round(float(np.median(ratio)), 2),
        "speedup_torch_over_encode": round(float(np.median(ratio_ref)), 2),
        "speedup_default_over_torch_filter": round(
            float(
                np.median(
                    [f / t for f, t in zip(rates["filter (default)"], rates["filter (torch)"])]
                )
            ),
            2,
        ),
        "decision_agreement_with_torch": round(agree, 5),
        "reason_agreement_with_torch": round(same_reason, 5),
        "max_abs_cosine_diff_vs_torch": max_diff,
        "max_abs_cosine_diff_torch_vs_encode": max_diff_st,
        "texts_sent_to_model_per_round": fast_enc.stats.encoded // max(args.rounds, 1),
        "per_round_pairs_per_s": {k: [round(x, 1) for x in v] for k, v in rates.items()},
    }
    print()
    print(
        f"filter, default ({fast_enc.runtime})   {med['filter (default)']:9.1f} pairs/s "
        "(median of rounds)"
    )
    print(f"filter, torch reference        {med['filter (torch)']:9.1f} pairs/s")
    print(
        f"SentenceTransformer.encode     {2 * med['encode']:9.1f} sentences/s "
        f"(= {med['encode']:.1f} pairs/s encoding source and candidate)"
    )
    print(
        f"speed-up per pair over encode  {figures['speedup_default_over_encode']:9.2f}x default "
        f"(target >= 3x), {figures['speedup_torch_over_encode']:.2f}x torch reference "
        "(medians of per-round ratios)"
    )
    print(
        f"decisions agreeing with torch  {agree:.3%} (reasons {same_reason:.3%}), "
        f"max |cosine diff| {max_diff:.2e} (torch vs encode {max_diff_st:.2e})"
    )
    return figures


if __name__ == "__main__":
    main()
