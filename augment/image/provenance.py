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
        clean = {
            k: v if type(v) in _PLAIN else _plain(v) for k, v in params.items() if k not in _DROP
        }
        matrix = params.get("matrix")
        if matrix is not None:
            angle = params.get("rotate")
            if angle is None:
                angle = math.degrees(math.atan2(float(matrix[0, 1]), float(matrix[0, 0])))
            clean["angle"] = float(angle)
            if "scale" not in clean:
                clean["scale"] = math.hypot(float(matrix[0, 0]), float(matrix[0, 1]))
        ops.append(Operation(name, clean))
    return ops


_PLAIN = {float, int, str, bool, type(None)}


def _plain(value: Any) -> Any:
    t = type(value)
    if t in _PLAIN:
        return value
    if t is dict:
        return {str(k): v if type(v) in _PLAIN else _plain(v) for k, v in value.items()}
    if t is np.ndarray:
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
