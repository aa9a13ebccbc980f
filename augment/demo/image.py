"""Image section of `augment demo`: presets and extreme transforms through the fidelity filter,
and a PNG grid of sources, accepted and rejected variants with their similarity.

Without ``--data`` it runs on images that scikit-image ships (the Shepp-Logan phantom as the
medical image, sample photos, a scanned page); with ``--data`` on chest X-rays of
PneumoniaMNIST (``<data>/image/pneumoniamnist.npz``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pandas as pd

from augment.augmenter import Augmenter, AugmentResult, Source
from augment.image import ImagePipeline
from fidelity import FidelityFilter, ImageEncoder
from fidelity.encoders.image import RECOMMENDED_BAND
from fidelity.report import similarity_histogram, verdict_table

#: Transforms no preset would make, to show what the filter rejects.
EXTREMES = {
    "rotate 170": [A.Rotate(limit=(170, 170), p=1.0, border_mode=cv2.BORDER_REPLICATE)],
    "blank out": [A.RandomBrightnessContrast((0.9, 0.9), (-0.95, -0.95), p=1.0)],
}
COLOURS = {"accepted": "tab:green", "drift": "tab:red", "near_duplicate": "tab:grey",
           "constraint": "tab:orange", "invalid": "black"}


def _shipped() -> list[tuple[str, np.ndarray, str]]:
    """(name, image, preset) from scikit-image's sample data."""
    from skimage import data as sk

    phantom = (sk.shepp_logan_phantom() * 255).round().astype(np.uint8)
    return [
        ("phantom", cv2.resize(phantom, (224, 224), interpolation=cv2.INTER_AREA), "xray"),
        ("camera", sk.camera(), "photo"),
        ("chelsea", sk.chelsea(), "photo"),
        ("coffee", sk.coffee(), "photo"),
        ("page", sk.page(), "document"),
    ]


def _xrays(path: Path, n: int = 8) -> list[tuple[str, np.ndarray, str]]:
    with np.load(path) as d:
        images, labels = d["test_images"][:n], d["test_labels"][:n].ravel()
    names = {0: "normal", 1: "pneumonia"}
    return [(f"xray {i} ({names[int(y)]})", im, "xray") for i, (im, y) in
            enumerate(zip(images, labels, strict=True))]


def _run(items, flt: FidelityFilter, n_variants: int) -> tuple[list[AugmentResult], list[str]]:
    results, kinds = [], []
    for preset in sorted({p for _, _, p in items}):
        sources = [Source(name, img, preset) for name, img, p in items if p == preset]
        results.append(Augmenter(ImagePipeline.from_preset(preset), flt, n_variants).run(sources))
        kinds.append(f"preset {preset}")
    for what, transforms in EXTREMES.items():
        sources = [Source(name, img, what) for name, img, _ in items]
        results.append(Augmenter(ImagePipeline(transforms, name=what), flt, 1).run(sources))
        kinds.append(what)
    return results, kinds


def _grid(items, rows: dict[str, list[tuple[str, Any]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = 1 + max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(items), ncols, figsize=(1.9 * ncols, 2.0 * len(items)),
                             squeeze=False)
    for r, (name, img, preset) in enumerate(items):
        cells = [(f"{name}\nsource ({preset})", img, "black")] + [
            (f"{kind}\n{c.verdict.reason.value} {c.verdict.similarity:.2f}", c.payload,
             COLOURS[c.verdict.reason.value])
            for kind, c in rows[name]
        ]
        for k, ax in enumerate(axes[r]):
            ax.axis("off")
            if k >= len(cells):
                continue
            title, im, colour = cells[k]
            ax.imshow(im, cmap="gray" if im.ndim == 2 or im.shape[-1] == 1 else None,
                      vmin=0, vmax=255 if im.dtype == np.uint8 else 1)
            ax.set_title(title, fontsize=7, color=colour)
    fig.suptitle("sources and variants: similarity to the source and the filter's verdict",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(data: Path | None, out: Path) -> None:
    pd.set_option("display.width", 160)
    out.mkdir(parents=True, exist_ok=True)
    npz = data / "image" / "pneumoniamnist.npz" if data is not None else None
    if npz is not None and npz.is_file():
        items = _xrays(npz)
        print(f"sources: first {len(items)} chest X-rays (28x28) of {npz}")
    else:
        items = _shipped()
        print("sources: scikit-image's Shepp-Logan phantom, sample photos and scanned page")
    encoder = ImageEncoder()
    chelsea_top = None
    try:
        from skimage import data as sk

        chelsea_top = encoder.classify([sk.chelsea()], top=1)[0][0]
    except ImportError:  # pragma: no cover - scikit-image is in the image extra
        pass
    print(f"encoder: {encoder.name} on {encoder._device}"
          + (f" (a cat photo gets ImageNet class {chelsea_top[0]}, p={chelsea_top[1]:.2f}: "
             "281-285 are cats)" if chelsea_top else ""))
    band = RECOMMENDED_BAND
    print(f"band: [{band.min_similarity:.2f}, {band.max_similarity:.2f}] "
          "(measured on PneumoniaMNIST; calibrate on your data)")
    flt = FidelityFilter.from_band(band, encoder)
    results, kinds = _run(items, flt, n_variants=4)

    frames, rows = [], {name: [] for name, _, _ in items}
    for kind, res in zip(kinds, results, strict=True):
        f = res.to_frame()
        f.insert(0, "made_by", kind)
        frames.append(f)
        for c in res.candidates:
            rows[c.source_id].append((kind.replace("preset ", ""), c))
    table = pd.concat(frames, ignore_index=True)
    table["params"] = [
        "; ".join(f"{o['name']}({_short(o['params'])})" for o in ops) for ops in table.operations
    ]
    print("\nsimilarity and verdict by what made the variant:")
    print(table.groupby("made_by").agg(
        candidates=("reason", "size"),
        accepted=("accepted", "sum"),
        median_similarity=("similarity", "median"),
    ).round(3).to_string())
    verdicts = [c.verdict for res in results for c in res.candidates]
    print("\nsummary:\n" + verdict_table(verdicts).to_string(index=False))
    print("\nsome variants with the parameters drawn for them:")
    for row in table.groupby("reason", group_keys=False).head(2).itertuples():
        print(f"  [{row.reason:<14} {row.similarity:5.3f}] {row.source_id}: {row.made_by}: "
              f"{row.params or 'nothing fired'}")
    grid = _grid(items, rows, out / "image_grid.png")
    hist = similarity_histogram(verdicts, out / "image_similarity.png", band,
                                title="Image variants: similarity to their source")
    table.drop(columns=["payload", "operations"]).to_csv(out / "image_candidates.csv", index=False)
    print(f"wrote {grid}, {hist}, {out / 'image_candidates.csv'}")


def _short(params: dict[str, Any]) -> str:
    keep = ("angle", "alpha", "beta", "gamma", "clip_limit")
    return ", ".join(
        f"{k}={params[k]:.3g}" for k in keep if isinstance(params.get(k), (int, float))
    )
