"""Images as files: how ``augment run`` writes a variant (a PNG under the job's output folder)
and reads an image back, with OpenCV (already an albumentations dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from augment.io.atomic import atomic_write_bytes


def read_image(path: str | Path) -> np.ndarray:
    """An image file as an array: grayscale ``(H, W)``, RGB or RGBA ``(H, W, C)``."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError("cannot decode image")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


def write_image(payload: Any, output: Path, candidate_id: str) -> str:
    """Write a variant's image as ``images/<candidate id>.png`` under ``output`` (atomically)
    and return that relative path (what the job's tables hold)."""
    import cv2

    img = payload["image"] if isinstance(payload, dict) else payload
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.asarray(img, dtype=np.float32) * 255.0, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    safe = str(candidate_id).replace("/", "__").replace(":", "_")
    rel = Path("images") / f"{safe}.png"
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"cannot encode candidate {candidate_id} as PNG")
    atomic_write_bytes(Path(output) / rel, buf.tobytes())
    return rel.as_posix()


def read_written(value: str, output: Path) -> np.ndarray:
    """The image a job wrote (``value`` is the relative path in its table)."""
    return read_image(Path(output) / value)


def markdown_examples(rows: Any) -> list[str]:
    """Report lines that show written variants as Markdown images with their similarity."""
    return [f"![{r.candidate_id} ({r.similarity:.3f})]({r.payload})" for r in rows.itertuples()]
