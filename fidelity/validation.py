"""Checks that decide whether an item can be scored at all (the ``invalid`` verdict)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def text_problem(item: Any) -> str | None:
    """What makes ``item`` unusable as text, in words, or None when it is fine."""
    if item is None:
        return "is missing (None)"
    if isinstance(item, float) and math.isnan(item):
        return "is missing (NaN)"
    if not isinstance(item, str):
        return f"is {type(item).__name__}, not text"
    if not item.strip():
        return "is empty" if not item else "is whitespace only"
    return None


def identical(a: Any, b: Any) -> bool:
    """True when a candidate is exactly its source (arrays compared element-wise)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
