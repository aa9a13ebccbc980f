"""Where image variants land: similarity to their source under the default encoder, for the
"xray" preset and for transforms that change what an X-ray shows, with global (grid=1) and 2x2
(grid=2, the default) pooling. The figures behind ``RECOMMENDED_BAND`` and docs/image.md.

    python benchmarks/image_band.py [--images 40]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import albumentations as A
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.image import ImagePipeline  # noqa: E402
from fidelity import ImageEncoder  # noqa: E402
from fidelity.encoders.image import RECOMMENDED_BAND  # noqa: E402

DATA = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))

CASES = {
    "preset xray (something fired)": ImagePipeline.from_preset("xray"),
    "contrast only": ImagePipeline.from_preset("xray", max_rotation=0.0),
    "rotate 15, black corners": ImagePipeline([A.Rotate(limit=(15, 15), p=1,
                                                        border_mode=cv2.BORDER_CONSTANT)]),
    "rotate 170": ImagePipeline([A.Rotate(limit=(170, 170), p=1,
                                          border_mode=cv2.BORDER_REPLICATE)]),
    "horizontal flip": ImagePipeline([A.HorizontalFlip(p=1)]),
    "blank out": ImagePipeline([A.RandomBrightnessContrast((0.9, 0.9), (-0.95, -0.95), p=1)]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=40)
    args = ap.parse_args()
    with np.load(DATA / "image" / "pneumoniamnist.npz") as d:
        images = list(d["train_images"][: args.images])
    variants = {}
    for name, pipe in CASES.items():
        made = [pipe.apply(im, 100 + i) for i, im in enumerate(images)]
        keep = [k for k, (_, ops) in enumerate(made) if ops]
        variants[name] = ([images[k] for k in keep], [made[k][0] for k in keep])
    print(f"{args.images} PneumoniaMNIST X-rays; cosine similarity to the source")
    print(f"{'':34}" + "".join(f"{'grid=' + str(g):>24}" for g in (1, 2)))
    print(f"{'':34}" + "   min  q10  median  max" * 2 + "   in band (grid=2)")
    rows: dict[str, list[str]] = {}
    lo, hi = RECOMMENDED_BAND.min_similarity, RECOMMENDED_BAND.max_similarity
    for grid in (1, 2):
        enc = ImageEncoder(grid=grid)
        src = enc.encode(images)
        others = (src @ src.T)[~np.eye(len(images), dtype=bool)]
        rows.setdefault("other X-rays (not variants)", []).append(_fmt(others))
        if grid == 2:
            rows["other X-rays (not variants)"].append(_rate(others, lo, hi))
        for name, (s, v) in variants.items():
            sims = np.einsum("ij,ij->i", enc.encode(s), enc.encode(v))
            rows.setdefault(name, []).append(_fmt(sims))
            if grid == 2:
                rows[name].append(_rate(sims, lo, hi))
    for name, cells in rows.items():
        print(f"{name:34}" + "".join(cells))


def _rate(x: np.ndarray, lo: float, hi: float) -> str:
    return f"   {np.mean((x >= lo) & (x <= hi)):6.1%} ({np.mean(x < lo):.0%} below)"


def _fmt(x: np.ndarray) -> str:
    q = np.quantile(x, [0, 0.1, 0.5, 1])
    return f"  {q[0]:.2f} {q[1]:.2f}  {q[2]:.2f}  {q[3]:.2f}"


if __name__ == "__main__":
    main()
