"""Building blocks of image pipelines: the contrast and the rotation families, as lists of
albumentations transforms.

Border handling matters more than it looks: a rotation leaves the corners empty, and filling them
with black paints hard edges that a model (and the fidelity encoder) sees as content. ``replicate``
continues the edge pixels and suits X-rays and scans; ``reflect`` mirrors the image and suits
natural photos; ``constant`` fills with ``fill`` and is for masks of known background.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2

#: Border names and the OpenCV modes behind them.
BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
}


def border_mode(name: str) -> int:
    """The OpenCV border mode of a border name (see :data:`BORDERS`)."""
    try:
        return BORDERS[name]
    except KeyError:
        raise ValueError(f"unknown border {name!r}; choose one of {sorted(BORDERS)}") from None


def contrast(
    brightness: float = 0.1,
    contrast: float = 0.1,
    gamma: tuple[float, float] | None = (85, 115),
    clahe: tuple[float, float] | None = None,
    p: float = 0.8,
) -> list[A.BasicTransform]:
    """Brightness/contrast, gamma and (optionally) CLAHE.

    ``brightness`` and ``contrast`` are the largest relative change either way; ``gamma`` is the
    range of gamma x 100 (``(85, 115)``: 0.85..1.15); ``clahe`` the range of CLAHE's clip limit.
    Each transform fires with probability ``p`` (gamma and CLAHE less often).
    """
    out: list[A.BasicTransform] = [
        A.RandomBrightnessContrast(brightness_limit=brightness, contrast_limit=contrast, p=p)
    ]
    if gamma is not None:
        out.append(A.RandomGamma(gamma_limit=gamma, p=p * 0.6))
    if clahe is not None:
        out.append(A.CLAHE(clip_limit=clahe, tile_grid_size=(8, 8), p=p * 0.25))
    return out


def rotation(
    limit: float = 7.0,
    scale: tuple[float, float] | None = None,
    translate: float | None = None,
    border: str = "replicate",
    fill: float = 0.0,
    p: float = 0.8,
) -> list[A.BasicTransform]:
    """A rotation by up to ``limit`` degrees either way, optionally with zoom (``scale`` range)
    and shift (``translate``, a share of the side), as one affine warp so the image is resampled
    once. Masks, boxes and keypoints follow."""
    kw: dict[str, Any] = {"border_mode": border_mode(border), "fill": fill, "fill_mask": 0, "p": p}
    if scale is None and translate is None:
        return [A.Rotate(limit=limit, **kw)]
    return [
        A.Affine(
            rotate=(-limit, limit),
            scale=scale if scale is not None else (1.0, 1.0),
            translate_percent=(-translate, translate) if translate else None,
            keep_ratio=True,
            **kw,
        )
    ]
