"""The parameters albumentations drew for one sample, as plain JSON-friendly operations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from augment.candidate import Operation

#: Bookkeeping entries that say nothing about what was done to this sample.
_DROP = {"shape", "output_shape", "bbox_matrix", "x_min", "x_max", "y_min", "y_max"}


def operations(applied: list[tuple[str, dict[str, Any]]]) -> list[Operation]:
    """One :class:`Operation` per transform that fired, with the parameters drawn for it.

    Geometric transforms record their warp ``matrix`` and the ``angle`` in degrees
    (counter-clockwise), and ``scale`` where the transform did not name it.
    """
    ops = []
    for name, params in applied:
        clean = {k: _plain(v) for k, v in params.items() if k not in _DROP}
        matrix = params.get("matrix")
        if matrix is not None:
            m = np.asarray(matrix, dtype=np.float64)
            angle = params.get("rotate", math.degrees(math.atan2(m[0, 1], m[0, 0])))
            clean["angle"] = round(float(angle), 4)
            clean.setdefault("scale", round(math.hypot(m[0, 0], m[0, 1]), 4))
        ops.append(Operation(name, clean))
    return ops


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
