"""Image filter throughput on a CPU, side by side in one run: the default encoder (ONNX Runtime on
2 threads) against the torch reference as it ran before (1 thread, the figure of docs/image.md)
and on 2 threads, with the decisions compared.

Pairs: PneumoniaMNIST X-rays, each with a variant of the ``xray`` preset, plus the drift cases of
the tests (a 170-degree rotation, a blanked image, another X-ray) for every fourth source. The
pairs are split into rounds; in every round each contender filters the round's pairs with its
cache off (every image goes through the model, as in the earlier figure), the order rotating so
that load from the other jobs on the machine hits them alike. Reported: median images encoded/s,
median per-round ratios, the share of decisions that agree with the torch reference, and the
largest cosine difference.

    python benchmarks/image_filter_throughput.py                 # 400 sources
    python benchmarks/image_filter_throughput.py --sources 100   # quicker
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from filter_throughput import SHARED_DATA, machine  # noqa: E402

from augment.image import ImagePipeline  # noqa: E402
from fidelity import FidelityFilter, ImageEncoder  # noqa: E402
from fidelity.encoders.image import RECOMMENDED_BAND  # noqa: E402

DRIFT = [
    ImagePipeline([A.Rotate(limit=(170, 170), p=1, border_mode=cv2.BORDER_REPLICATE)]),
    ImagePipeline([A.RandomBrightnessContrast((0.9, 0.9), (-0.95, -0.95), p=1)]),
]


def make_pairs(n: int) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    with np.load(SHARED_DATA / "image" / "pneumoniamnist.npz") as d:
        images = list(d["train_images"][: n + 1])
    preset = ImagePipeline.from_preset("xray")
    src, var, kind = [], [], []
    for i in range(n):
        src.append(images[i])
        var.append(preset.apply(images[i], 100 + i)[0])
        kind.append("preset")
        if i % 4 == 0:
            for k, pipe in enumerate(DRIFT):
                src.append(images[i])
                var.append(pipe.apply(images[i], 100 + i)[0])
                kind.append(("rotate 170", "blank")[k])
            src.append(images[i])
            var.append(images[i + 1])
            kind.append("other X-ray")
    return src, var, kind


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    print(machine())
    src, var, kind = make_pairs(args.sources)
    n = len(src)
    print(
        f"{n} pairs ({kind.count('preset')} preset variants, {n - kind.count('preset')} drift "
        f"cases), {args.rounds} interleaved rounds, band {RECOMMENDED_BAND}"
    )
    fast = FidelityFilter.from_band(RECOMMENDED_BAND, ImageEncoder(cache_size=0))
    ref = FidelityFilter.from_band(RECOMMENDED_BAND, ImageEncoder(cache_size=0, backend="torch"))
    for flt in (fast, ref):
        flt.judge(src[:4], var[:4])  # load (and export once), warm up
    contenders = {
        f"default ({fast.encoder.runtime}, {args.threads} threads)": (fast, args.threads),
        "torch, 1 thread (before)": (ref, 1),
        f"torch, {args.threads} threads": (ref, args.threads),
    }
    names = list(contenders)
    rates: dict[str, list[float]] = {k: [] for k in names}
    verdicts: dict[str, list] = {k: [] for k in names}
    bounds = np.linspace(0, n, args.rounds + 1).astype(int)
    for r, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        for name in names[r % 3 :] + names[: r % 3]:
            flt, threads = contenders[name]
            torch.set_num_threads(threads)
            t0 = time.perf_counter()
            verdicts[name] += flt.judge(src[a:b], var[a:b])
            rates[name].append(2 * (b - a) / (time.perf_counter() - t0))
        torch.set_num_threads(args.threads)
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {rates[k][-1]:.1f}" for k in names)
            + f" images/s   [{machine().split('load average ')[1]}]",
            flush=True,
        )
    fast_name, before, ref2 = names
    f_v, r_v = verdicts[fast_name], verdicts[ref2]
    agree = np.array([x.accepted == y.accepted for x, y in zip(f_v, r_v)])
    diff = np.abs(np.array([x.similarity for x in f_v]) - np.array([y.similarity for y in r_v]))
    preset = np.array([k == "preset" for k in kind])
    med = {k: float(np.median(v)) for k, v in rates.items()}
    over_before = float(np.median([f / t for f, t in zip(rates[fast_name], rates[before])]))
    over_ref2 = float(np.median([f / t for f, t in zip(rates[fast_name], rates[ref2])]))
    figures = {
        "machine": machine(),
        "pairs": n,
        "images_per_s": {k: round(v, 1) for k, v in med.items()},
        "speedup_over_torch_1_thread": round(over_before, 2),
        f"speedup_over_torch_{args.threads}_threads": round(over_ref2, 2),
        "decision_agreement_all": round(float(agree.mean()), 5),
        "decision_agreement_preset_pairs": round(float(agree[preset].mean()), 5),
        "decision_agreement_drift_cases": round(float(agree[~preset].mean()), 5),
        "max_abs_cosine_diff": float(diff.max()),
        "accepted_share_reference": round(float(np.mean([v.accepted for v in r_v])), 4),
        "per_round_images_per_s": {k: [round(x, 1) for x in v] for k, v in rates.items()},
    }
    print()
    for k in names:
        print(f"{k:<36} {med[k]:8.1f} images/s (median of rounds)")
    print(
        f"speed-up of the default             {over_before:8.2f}x over torch on 1 thread "
        f"(target >= 10x), {over_ref2:.2f}x over torch on {args.threads} threads"
    )
    print(
        f"decisions agreeing with torch       {agree.mean():.3%} of all pairs "
        f"({agree[preset].mean():.3%} preset, {agree[~preset].mean():.3%} drift cases), "
        f"max |cosine diff| {diff.max():.2e}"
    )
    print(machine())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
