"""Fidelity filter throughput against plain ``SentenceTransformer.encode``, side by side.

Builds (source, candidate) pairs from the shared text sets (each source with 4 EDA-style
candidates: 2 word swaps, 2 word deletions), then, chunk by chunk and alternating so that both
sides see the same machine load, times

* the filter: ``FidelityFilter.judge`` (Python strings in, verdicts out; a fresh encoder cache);
* the batched baseline: one ``SentenceTransformer.encode`` call over every pair's source and
  candidate (sorted and batched by sentence-transformers);
* the per-pair baseline: ``encode(source)`` and ``encode(candidate)`` for each pair, as a loop
  over pairs would do (timed on the first ``--loop-pairs`` pairs of each chunk).

and prints pairs/s of the filter, sentences/s of the batched baseline, and the per-pair
speed-ups ``filter pairs/s / (baseline sentences/s / 2)``. It also checks that the filter's
decisions agree with the decisions the baseline embeddings give.

    python benchmarks/filter_throughput.py                  # 20,000 pairs (the issue's size)
    python benchmarks/filter_throughput.py --pairs 4000     # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch

from augment.candidate import sample_seed
from augment.text import RandomDeletion, RandomSwap
from fidelity import Band, FidelityFilter, TextEncoder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "text"


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


def linear_flops_per_token(model: torch.nn.Module) -> int:
    """Multiply-adds x 2 of every Linear layer: the bulk of a small encoder's work per token."""
    return sum(2 * m.in_features * m.out_features for m in model.modules()
               if isinstance(m, torch.nn.Linear))


def sgemm_gflops(hidden: int, tokens: int = 1536, seconds: float = 2.0) -> float:
    """What this machine's torch reaches on a matmul of the model's shape (the ceiling)."""
    a, b = torch.randn(tokens, hidden), torch.randn(hidden, 4 * hidden)
    torch.mm(a, b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        n += 1
    return 2 * tokens * hidden * 4 * hidden * n / (time.perf_counter() - t0) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--per-source", type=int, default=4)
    ap.add_argument("--chunks", type=int, default=5, help="alternate the two sides this many times")
    ap.add_argument("--device", default=None, help="cuda / cpu (default: cuda when present)")
    ap.add_argument("--baseline-batch-size", type=int, default=32)
    ap.add_argument("--loop-pairs", type=int, default=100,
                    help="pairs per chunk timed with the per-pair loop baseline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    n_src = args.pairs // args.per_source
    sources = load_sources(n_src, args.seed)
    src, cand = make_pairs(sources, args.per_source, args.seed)
    n = len(src)
    print(f"{n} pairs from {n_src} sources ({args.per_source} candidates each); "
          f"{len(set(cand))} distinct candidates, {sum(a == b for a, b in zip(src, cand))} "
          "identical to their source")

    encoder = TextEncoder(device=args.device)
    flt = FidelityFilter(encoder, 0.7, 0.98)
    st = encoder.sentence_transformer  # the same weights serve the baseline
    device = str(st.device)
    # warm-up both paths
    flt.judge(src[:64], cand[:64])
    st.encode(src[:64] + cand[:64], batch_size=args.baseline_batch_size)
    encoder.clear_cache()
    encoder.stats.__init__()

    t_filter = t_base = t_loop = 0.0
    n_loop = 0
    verdicts, base_sims = [], []
    bounds = np.linspace(0, n_src, args.chunks + 1).astype(int) * args.per_source
    for a, b in zip(bounds[:-1], bounds[1:]):
        t0 = time.perf_counter()
        verdicts += flt.judge(src[a:b], cand[a:b])
        t1 = time.perf_counter()
        emb = st.encode(src[a:b] + cand[a:b], batch_size=args.baseline_batch_size,
                        normalize_embeddings=True)
        t2 = time.perf_counter()
        m = min(args.loop_pairs, b - a)
        for i in range(a, a + m):
            e_s = st.encode([src[i]], normalize_embeddings=True)
            e_c = st.encode([cand[i]], normalize_embeddings=True)
            float(e_s[0] @ e_c[0])
        t3 = time.perf_counter()
        t_filter += t1 - t0
        t_base += t2 - t1
        t_loop += t3 - t2
        n_loop += m
        k = b - a
        base_sims.append(np.einsum("ij,ij->i", emb[:k], emb[k:]))
        print(f"  chunk {a // args.per_source}-{b // args.per_source}: filter {k / (t1 - t0):7.1f} "
              f"pairs/s, encode {2 * k / (t2 - t1):7.1f} sentences/s", flush=True)

    # how close the model runs to the machine's matmul ceiling (why more speed needs less work)
    model_tokens = int(encoder.token_lengths(list(dict.fromkeys(src + cand))).sum())
    flops = linear_flops_per_token(st) * model_tokens
    achieved = flops / t_filter / 1e9
    ceiling = sgemm_gflops(encoder.dimension) if device == "cpu" else float("nan")

    base = np.concatenate(base_sims)
    band = Band(0.7, 0.98)
    base_ok = np.array([band.judge(s).accepted for s in base])
    ours_ok = np.array([v.accepted for v in verdicts])
    ours_sim = np.array([v.similarity for v in verdicts])
    pairs_per_s = n / t_filter
    sent_per_s = 2 * n / t_base
    speedup = pairs_per_s / (sent_per_s / 2)
    loop_pairs_per_s = n_loop / t_loop
    stats = encoder.stats
    figures = {
        "device": device,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
        "pairs": n,
        "filter_pairs_per_s": round(pairs_per_s, 1),
        "encode_sentences_per_s": round(sent_per_s, 1),
        "per_pair_speedup": round(speedup, 2),
        "loop_pairs_per_s": round(loop_pairs_per_s, 1),
        "speedup_over_loop": round(pairs_per_s / loop_pairs_per_s, 2),
        "texts_sent_to_model": stats.encoded,
        "cache_hits": stats.cache_hits,
        "model_gflops_per_s": round(achieved, 1),
        "sgemm_gflops_per_s": round(ceiling, 1),
        "decision_agreement": round(float(np.mean(base_ok == ours_ok)), 5),
        "max_abs_similarity_diff": round(float(np.nanmax(np.abs(base - ours_sim))), 6),
    }
    print()
    print(f"device                          {device}")
    print(f"filter                          {pairs_per_s:10.1f} pairs/s")
    print(f"SentenceTransformer.encode      {sent_per_s:10.1f} sentences/s "
          f"(= {sent_per_s / 2:.1f} pairs/s encoding source and candidate)")
    print(f"per-pair loop of encode calls   {loop_pairs_per_s:10.1f} pairs/s "
          f"({n_loop} pairs, one encode call per text)")
    print(f"speed-up per pair               {speedup:10.2f}x over batched encode of both texts, "
          f"{pairs_per_s / loop_pairs_per_s:.2f}x over the per-pair loop   (target >= 3x)")
    print(f"texts sent to the model         {stats.encoded} of {2 * n} "
          f"({stats.cache_hits} from the cache)")
    print(f"model arithmetic                {achieved:10.1f} GFLOP/s in Linear layers "
          f"(a bare matmul of that shape reaches {ceiling:.1f} GFLOP/s here)")
    print(f"decisions agreeing with encode  {figures['decision_agreement']:.3%}, "
          f"max |similarity diff| {figures['max_abs_similarity_diff']:.2e}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
