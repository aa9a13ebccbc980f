"""Image throughput, one thread: our ImagePipeline against raw albumentations with the same
transforms, and the image fidelity filter on CPU (and on GPU when there is one).

Data: PneumoniaMNIST chest X-rays from ../shared/data, upsampled to 224x224. Pipeline and raw
albumentations are timed in alternating rounds (ABAB...) so that load from other processes hits
both alike; the figures are medians over rounds.

    python benchmarks/image_throughput.py [--images 400] [--rounds 7] [--pairs 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.candidate import sample_seed  # noqa: E402
from augment.image import ImagePipeline  # noqa: E402
from fidelity import FidelityFilter, ImageEncoder  # noqa: E402
from fidelity.encoders.image import RECOMMENDED_BAND  # noqa: E402

DATA = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_xrays(n: int) -> np.ndarray:
    path = DATA / "image" / "pneumoniamnist.npz"
    if not path.is_file():
        sys.exit(f"needs {path} (set AUGMENT_SHARED_DATA)")
    with np.load(path) as d:
        small = d["train_images"][:n]
    return np.stack([cv2.resize(im, (224, 224), interpolation=cv2.INTER_CUBIC) for im in small])


def time_augment(images: np.ndarray, rounds: int) -> dict[str, float]:
    pipeline = ImagePipeline.from_preset("xray")
    raw = A.Compose(ImagePipeline.from_preset("xray").transforms)  # same transforms, no seeding
    seeded_raw = A.Compose(ImagePipeline.from_preset("xray").transforms)
    seeds = [sample_seed(0, i, 0) for i in range(len(images))]

    def ours() -> None:
        for img, s in zip(images, seeds, strict=True):
            pipeline.apply(img, s)

    def plain() -> None:
        for img in images:
            raw(image=img)

    def plain_seeded() -> None:  # what reproducible raw albumentations would take
        for img, s in zip(images, seeds, strict=True):
            seeded_raw.set_random_seed(s)
            seeded_raw(image=img)

    runs: dict[str, list[float]] = {"raw albumentations": [], "raw, seeded per sample": [],
                                    "ImagePipeline": []}
    ours(), plain(), plain_seeded()  # warm up
    for _ in range(rounds):
        for name, fn in (("raw albumentations", plain), ("ImagePipeline", ours),
                         ("raw, seeded per sample", plain_seeded)):
            t = time.perf_counter()
            fn()
            runs[name].append(len(images) / (time.perf_counter() - t))
    return {k: statistics.median(v) for k, v in runs.items()}


def time_filter(images: np.ndarray, pairs: int, device: str) -> float:
    pipeline = ImagePipeline.from_preset("xray")
    sources = list(images[:pairs])
    variants = [pipeline.apply(im, i) for i, im in enumerate(sources)]
    variants = [v for v, _ in variants]
    flt = FidelityFilter.from_band(RECOMMENDED_BAND, ImageEncoder(device=device, cache_size=0))
    flt.judge(sources[:4], variants[:4])  # load the model, warm up
    t = time.perf_counter()
    flt.judge(sources, variants)
    return 2 * pairs / (time.perf_counter() - t)  # images encoded per second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--gpu-pairs", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    images = load_xrays(max(args.images, args.pairs))
    print(f"{len(images)} PneumoniaMNIST X-rays upsampled to 224x224, one thread, "
          f"torch {torch.__version__}, albumentations {A.__version__}")
    rates = time_augment(images[: args.images], args.rounds)
    base = rates["raw albumentations"]
    print("\naugmentation, preset 'xray' (images/s, median of "
          f"{args.rounds} alternating rounds):")
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:9.1f}   {base / rate - 1:+6.1%} time vs raw")
    overhead = base / rates["ImagePipeline"] - 1
    verdict = "meets" if overhead <= 0.05 else "misses"
    print(f"  overhead of ImagePipeline: {overhead:+.1%} ({verdict} the <= 5% target)")

    print("\nfidelity filter (EfficientNet-Lite0, 224x224, images encoded/s, no cache):")
    cpu = time_filter(images, args.pairs, "cpu")
    print(f"  cpu, 1 thread            {cpu:9.1f}")
    if torch.cuda.is_available():
        gpu_images = np.concatenate([images] * (args.gpu_pairs // len(images) + 1))
        gpu = time_filter(gpu_images[: args.gpu_pairs], args.gpu_pairs, "cuda")
        print(f"  {torch.cuda.get_device_name(0)} (fp16) {gpu:9.1f}   ({gpu / cpu:.0f}x cpu)")
    else:
        print("  gpu                      (none on this machine)")


if __name__ == "__main__":
    main()
