"""Images as files: how ``augment run`` writes a variant (a PNG under the job's output folder)
and reads an image back, with OpenCV (already an albumentations dependency)."""

from __future__ import annotations

import re
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


def variant_file_name(candidate_id: str) -> str:
    """The file name of a variant's image: the candidate id made safe for a file name (``/``
    and ``:`` replaced, cut to 80 characters) and a hash of the exact id, so that two ids never
    share a file (``a/b.png:0`` and ``a__b.png:0`` do not) and no name is too long however deep
    the source's path."""
    import hashlib

    text = str(candidate_id)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]
    digest = hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    return f"{safe}-{digest}.png"


def write_image(payload: Any, output: Path, candidate_id: str) -> str:
    """Write a variant's image under ``output`` as ``images/<name>.png`` (see
    :func:`variant_file_name`; atomically) and return that relative path (what the job's tables
    hold). Grayscale, RGB and RGBA are written as they are (OpenCV's BGR order undone)."""
    import cv2

    img = payload["image"] if isinstance(payload, dict) else payload
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.asarray(img, dtype=np.float32) * 255.0, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    rel = Path("images") / variant_file_name(candidate_id)
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
