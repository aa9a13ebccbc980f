"""Image filter throughput on a CPU, side by side in one run: the default encoder (OpenVINO on 2
threads) against ONNX Runtime on the same threads and the torch reference as it ran before (1
thread, the figure of docs/image.md) and on 2 threads, with the decisions compared.

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

    def image_filter(backend: str) -> FidelityFilter:
        return FidelityFilter.from_band(
            RECOMMENDED_BAND, ImageEncoder(cache_size=0, backend=backend)
        )

    fast, ort, ref = image_filter("auto"), image_filter("onnx"), image_filter("torch")
    for flt in (fast, ort, ref):
        flt.judge(src[:4], var[:4])  # load (and export once), warm up
    fast_name = f"default ({fast.encoder.runtime}, {args.threads} threads)"
    before, ref2 = "torch, 1 thread (before)", f"torch, {args.threads} threads"
    contenders = {
        fast_name: (fast, args.threads),
        f"onnxruntime, {args.threads} threads": (ort, args.threads),
        before: (ref, 1),
        ref2: (ref, args.threads),
    }
    names = list(contenders)
    rates: dict[str, list[float]] = {k: [] for k in names}
    verdicts: dict[str, list] = {k: [] for k in names}
    bounds = np.linspace(0, n, args.rounds + 1).astype(int)
    for r, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        turn = r % len(names)
        for name in names[turn:] + names[:turn]:
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
    f_v, r_v = verdicts[fast_name], verdicts[ref2]
    agree = np.array([x.accepted == y.accepted for x, y in zip(f_v, r_v)])
    diff = np.abs(np.array([x.similarity for x in f_v]) - np.array([y.similarity for y in r_v]))
    preset = np.array([k == "preset" for k in kind])
    med = {k: float(np.median(v)) for k, v in rates.items()}
    over = {
        k: float(np.median([f / t for f, t in zip(rates[fast_name], rates[k])])) for k in names[1:]
    }
    figures = {
        "machine": machine(),
        "runtime": fast.encoder.runtime,
        "pairs": n,
        "images_per_s": {k: round(v, 1) for k, v in med.items()},
        "speedup_of_default_over": {k: round(v, 2) for k, v in over.items()},
        "speedup_over_torch_1_thread": round(over[before], 2),
        f"speedup_over_torch_{args.threads}_threads": round(over[ref2], 2),
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
    for k, v in over.items():
        target = "  (target >= 10x)" if k == before else ""
        print(f"speed-up of the default over {k:<28} {v:6.2f}x{target}")
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
