"""Ready-made pipelines, each tuned for one kind of image, and why.

``xray``
    Chest radiographs. Small rotations (up to 7 degrees: patient positioning varies that much)
    with a little zoom, brightness/contrast and gamma (exposure and detector differ between
    hospitals). **No flips**: laterality matters (the
    heart is on the left; a mirrored film is situs inversus or a mislabelled side). Borders
    replicate the edge instead of painting black corners, which the filter and a model would see
    as content. CLAHE is off by default: its 8x8 tiles are 3 pixels wide on 28x28 images and
    rewrite them (the filter scored such variants 0.56 against their source, against 0.91 for the
    rest); pass ``clahe=(1.0, 2.0)`` for full-resolution films, where some sites equalise. Works on
    grayscale ``(H, W)`` and ``(H, W, 1)`` and keeps them grayscale: nothing
    here touches colour.
``photo``
    Natural photographs. Horizontal flips (the world is mostly mirror-symmetric), rotations up to
    15 degrees, zoom and shift, stronger brightness/contrast and gamma; mirrored borders, which
    look natural on textures.
``document``
    Scanned pages. Scanner skew (up to 3 degrees), uneven exposure and gamma; no flips (mirrored
    text is no text), no zoom (it cuts off margins and lines); replicated borders continue the
    paper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import albumentations as A

from augment.image.transforms import contrast, rotation


def xray(max_rotation: float = 7.0, brightness: float = 0.1, contrast_limit: float = 0.1,
         gamma: tuple[float, float] = (85, 115), clahe: tuple[float, float] | None = None,
         p: float = 0.8) -> list[A.BasicTransform]:
    return [
        *contrast(brightness, contrast_limit, gamma=gamma, clahe=clahe, p=p),
        *rotation(max_rotation, scale=(0.95, 1.05), border="replicate", p=p),
    ]


def photo(max_rotation: float = 15.0, brightness: float = 0.2, contrast_limit: float = 0.2,
          gamma: tuple[float, float] = (80, 120), p: float = 0.8) -> list[A.BasicTransform]:
    return [
        A.HorizontalFlip(p=0.5),
        *contrast(brightness, contrast_limit, gamma=gamma, p=p),
        *rotation(max_rotation, scale=(0.9, 1.1), translate=0.05, border="reflect", p=p),
    ]


def document(max_rotation: float = 3.0, brightness: float = 0.15, contrast_limit: float = 0.2,
             gamma: tuple[float, float] = (80, 120), p: float = 0.7) -> list[A.BasicTransform]:
    return [
        *contrast(brightness, contrast_limit, gamma=gamma, p=p),
        *rotation(max_rotation, border="replicate", p=p),
    ]


PRESETS: dict[str, Callable[..., list[A.BasicTransform]]] = {
    "xray": xray,
    "photo": photo,
    "document": document,
}


def build(name: str, **overrides: Any) -> list[A.BasicTransform]:
    """The transforms of preset ``name``."""
    try:
        builder = PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown image preset {name!r}; choose one of {sorted(PRESETS)}"
        ) from None
    return builder(**overrides)
