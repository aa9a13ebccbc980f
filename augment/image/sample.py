"""What an image payload is, and the checks that turn bad input into clear errors.

A payload is either a bare image (numpy array ``(H, W)`` or ``(H, W, C)``, uint8 or float in
[0, 1]) or a mapping with the image and what must move with it::

    {"image": array, "mask": array (H, W[, C]), "bboxes": [[x_min, y_min, x_max, y_max], ...],
     "bbox_labels": [...], "keypoints": [[x, y], ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fidelity.validation import image_problem

#: Keys a payload mapping may have.
PAYLOAD_KEYS = ("image", "mask", "bboxes", "bbox_labels", "keypoints")


def check_image(image: Any, what: str = "image") -> np.ndarray:
    """``image`` unchanged when it is a usable image, else a ``TypeError``/``ValueError`` that
    says what is wrong with it."""
    problem = image_problem(image)
    if problem is None:
        return image
    if not isinstance(image, np.ndarray) or "dtype" in problem:
        raise TypeError(f"{what} {problem}")
    raise ValueError(f"{what} {problem}")


def as_targets(payload: Any) -> dict[str, Any]:
    """The payload as a checked dict of targets (image always present)."""
    if plain_uint8_image(payload):  # the common case, checked in a few attribute reads
        return {"image": payload}
    if isinstance(payload, np.ndarray) or payload is None:
        return {"image": check_image(payload)}
    if not isinstance(payload, Mapping):
        raise TypeError(
            f"an image payload is a numpy array or a mapping with an 'image' key, "
            f"not {type(payload).__name__}"
        )
    unknown = set(payload) - set(PAYLOAD_KEYS)
    if unknown:
        raise ValueError(
            f"unknown payload key(s) {sorted(map(str, unknown))}; known: {PAYLOAD_KEYS}"
        )
    if "image" not in payload:
        raise ValueError("the payload mapping has no 'image'")
    image = check_image(payload["image"])
    targets: dict[str, Any] = {"image": image}
    h, w = image.shape[:2]
    if payload.get("mask") is not None:
        mask = payload["mask"]
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"mask is {type(mask).__name__}, not a numpy array")
        if mask.ndim not in (2, 3) or mask.shape[:2] != (h, w):
            raise ValueError(
                f"mask has shape {mask.shape} but the image is {h}x{w}: a mask must have the "
                "image's height and width"
            )
        if mask.size and mask.dtype.kind == "f" and not np.isfinite(mask).all():
            raise ValueError("mask contains NaN or infinite values")
        targets["mask"] = mask
    if payload.get("bboxes") is not None:
        boxes = _points(payload["bboxes"], 4, "bboxes")
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                raise ValueError(
                    f"box {i} {boxes[i].tolist()} is not inside the {w}x{h} image as "
                    "[x_min, y_min, x_max, y_max] in pixels with x_min < x_max, y_min < y_max"
                )
        targets["bboxes"] = boxes
        labels = payload.get("bbox_labels")
        if labels is not None and len(labels) != len(boxes):
            raise ValueError(f"{len(labels)} bbox_labels for {len(boxes)} bboxes")
        targets["bbox_labels"] = list(labels) if labels is not None else None
    elif payload.get("bbox_labels") is not None:
        raise ValueError("bbox_labels given without bboxes")
    if payload.get("keypoints") is not None:
        points = _points(payload["keypoints"], 2, "keypoints")
        for i, (x, y) in enumerate(points):
            if not (0 <= x < w and 0 <= y < h):
                raise ValueError(
                    f"keypoint {i} {points[i].tolist()} is not inside the {w}x{h} image as "
                    f"[x, y] in pixels with 0 <= x < {w}, 0 <= y < {h}"
                )
        targets["keypoints"] = points
    return targets


def plain_uint8_image(x: Any) -> bool:
    """Whether ``x`` is a non-empty uint8 image that needs no further checks (the common case,
    told in a few attribute reads)."""
    if type(x) is not np.ndarray or x.dtype.char != "B" or not x.size:
        return False
    return x.ndim == 2 or (x.ndim == 3 and x.shape[2] in (1, 3, 4))


def _points(value: Any, width: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, width)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must be a list of {width} numbers each, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{name}[{bad}] contains NaN or infinity: {arr[bad].tolist()}")
    return arr
