"""Checks that decide whether an item can be scored at all (the ``invalid`` verdict)."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import numpy as np


def text_problem(item: Any) -> str | None:
    """What makes ``item`` unusable as text, in words, or None when it is fine.

    Unusable: missing (None, NaN), not a string, empty or whitespace only, not valid Unicode (a
    lone surrogate such as ``"\\ud800"``, which no UTF-8 tokenizer can read), or without a single
    visible character (only zero-width, control or NUL characters).
    """
    if item is None:
        return "is missing (None)"
    if isinstance(item, float) and math.isnan(item):
        return "is missing (NaN)"
    if not isinstance(item, str):
        return f"is {type(item).__name__}, not text"
    if not item.strip():
        return "is empty" if not item else "is whitespace only"
    try:
        item.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"is not valid Unicode: lone surrogate U+{ord(item[exc.start]):04X} at character "
            f"{exc.start} (cannot be encoded as UTF-8)"
        )
    if not any(_visible(ch) for ch in item):
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in sorted(set(item))[:5])
        return f"has no visible character (only zero-width, control or NUL characters: {shown})"
    return None


def _visible(ch: str) -> bool:
    """Whether a character shows: not whitespace (Z*), control (Cc), format such as zero-width
    space or joiner (Cf), or unassigned (Cn)."""
    return unicodedata.category(ch) not in _INVISIBLE


_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cn", "Cs"})


def identical(a: Any, b: Any) -> bool:
    """True when a candidate is exactly its source (arrays compared element-wise)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


#: Pixel types an image may have: 8-bit integers (0..255) or floats in [0, 1].
IMAGE_DTYPES = ("uint8", "float32", "float64")


def image_problem(item: Any) -> str | None:
    """What makes ``item`` unusable as an image, in words, or None when it is fine.

    An image is a numpy array ``(H, W)`` or ``(H, W, C)`` with C in 1, 3 or 4, of dtype uint8
    (0..255) or float32/float64 (0..1), not empty, without NaN or infinities. A mapping with an
    ``"image"`` key (an image with its mask, boxes and keypoints) is judged by that image.
    """
    if isinstance(item, dict):
        if "image" not in item:
            return f"is a mapping without an 'image' key (keys: {sorted(map(str, item))})"
        item = item["image"]
    if item is None:
        return "is None"
    if not isinstance(item, np.ndarray):
        return f"is {type(item).__name__}, not a numpy array"
    if item.dtype.name not in IMAGE_DTYPES:
        return f"has dtype {item.dtype.name}; use uint8 (0..255) or float32 (0..1)"
    if item.ndim not in (2, 3):
        return f"has {item.ndim} dimensions {item.shape}; expected (H, W) or (H, W, C)"
    if item.ndim == 3 and item.shape[2] not in (1, 3, 4):
        return (
            f"has {item.shape[2]} channels {item.shape}; expected 1 (grayscale), 3 (RGB) or 4 "
            "(RGBA), channels last"
        )
    if item.size == 0:
        return f"is empty {item.shape}"
    if item.dtype.kind == "f":
        if not np.isfinite(item).all():
            return f"contains {int((~np.isfinite(item)).sum())} NaN or infinite pixel(s)"
        lo, hi = float(item.min()), float(item.max())
        if lo < 0.0 or hi > 1.0:
            return f"is float with values in [{lo:.3g}, {hi:.3g}]; float images must lie in [0, 1]"
    return None
