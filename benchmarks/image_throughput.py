"""Image throughput, one thread: our ImagePipeline against raw albumentations with the same
transforms, and the image fidelity filter on CPU (and on GPU when there is one).

Data: PneumoniaMNIST chest X-rays from ../shared/data, upsampled to 224x224. Each image goes
through every contender in turn (the order rotating from image to image), each call timed on its
own, so that load from other processes and cache warmth hit all contenders alike; a rate is
images over the summed time of its calls, also without the slowest 5% of calls (a process
preempted mid-call).

    python benchmarks/image_throughput.py [--images 400] [--rounds 7] [--pairs 64]
"""

from __future__ import annotations

import argparse
import os
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


def time_augment(images: np.ndarray, rounds: int) -> dict[str, tuple[float, float]]:
    """Images/s of each contender: every call timed on its own, the contenders interleaved image
    by image with their order rotating, so that load from other processes and cache warmth hit
    all of them alike. Returns (all calls, slowest 5% of calls left out: preemption spikes)."""
    pipeline = ImagePipeline.from_preset("xray")
    raw = A.Compose(ImagePipeline.from_preset("xray").transforms)  # same transforms, no seeding
    seeded_raw = A.Compose(ImagePipeline.from_preset("xray").transforms)
    seeds = [sample_seed(0, i, 0) for i in range(len(images))]

    def plain(img: np.ndarray, seed: int) -> None:
        raw(image=img)

    def ours(img: np.ndarray, seed: int) -> None:
        pipeline.apply(img, seed)

    def ours_no_provenance(img: np.ndarray, seed: int) -> None:  # a Dataset's __getitem__
        pipeline(img, seed)

    def plain_seeded(img: np.ndarray, seed: int) -> None:  # reproducible raw albumentations
        seeded_raw.set_random_seed(seed)
        seeded_raw(image=img)

    contenders = [
        ("raw albumentations", plain),
        ("ImagePipeline.apply", ours),
        ("ImagePipeline(...)", ours_no_provenance),
        ("raw, seeded per sample", plain_seeded),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    clock = time.perf_counter
    for _, fn in contenders:  # warm up
        for img, s in zip(images[:20], seeds[:20], strict=True):
            fn(img, s)
    for r in range(rounds):
        for i, (img, s) in enumerate(zip(images, seeds, strict=True)):
            k = (i + r) % len(contenders)
            for name, fn in contenders[k:] + contenders[:k]:
                t = clock()
                fn(img, s)
                times[name].append(clock() - t)
    out = {}
    for name, ts in times.items():
        ts = np.sort(ts)
        kept = ts[: int(len(ts) * 0.95)]
        out[name] = (len(ts) / ts.sum(), len(kept) / kept.sum())
    return out


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
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--gpu-pairs", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    images = load_xrays(max(args.images, args.pairs))
    print(
        f"{len(images)} PneumoniaMNIST X-rays upsampled to 224x224, one thread, "
        f"torch {torch.__version__}, albumentations {A.__version__}"
    )
    rates = time_augment(images[: args.images], args.rounds)
    base_all, base = rates["raw albumentations"]
    print(
        f"\naugmentation, preset 'xray', {args.rounds} rounds, calls timed one by one and "
        "interleaved (images/s):"
    )
    print(f"  {'':24} {'all calls':>10} {'vs raw':>8}   {'w/o slowest 5%':>14} {'vs raw':>8}")
    for name, (rate_all, rate) in rates.items():
        print(
            f"  {name:<24} {rate_all:10.1f} {base_all / rate_all - 1:+8.1%}   {rate:14.1f} "
            f"{base / rate - 1:+8.1%}"
        )
    for name in ("ImagePipeline.apply", "ImagePipeline(...)"):
        overhead = base / rates[name][1] - 1
        verdict = "meets" if overhead <= 0.05 else "misses"
        print(f"  overhead of {name}: {overhead:+.1%} time ({verdict} the <= 5% target)")

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
