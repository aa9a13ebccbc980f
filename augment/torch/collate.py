"""Collate helpers for batches of text and of images from `AugmentedDataset`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _split(batch: Sequence[Any]) -> tuple[list[Any], list[Any], list[bool] | None]:
    if batch and isinstance(batch[0], dict):
        return (
            [b["payload"] for b in batch],
            [b["label"] for b in batch],
            [bool(b["is_augmented"]) for b in batch],
        )
    payloads, labels = zip(*batch) if batch else ((), ())
    return list(payloads), list(labels), None


def _labels(labels: list[Any]) -> Any:
    if labels and all(isinstance(x, (int, np.integer)) for x in labels):
        return torch.tensor(labels, dtype=torch.long)
    return labels


def collate_text(batch: Sequence[Any]) -> dict[str, Any]:
    """``{"text": [str], "label": LongTensor or list, "is_augmented": BoolTensor}`` (the last
    only when the dataset returns info). Tokenize ``text`` with your model's tokenizer."""
    texts, labels, aug = _split(batch)
    out: dict[str, Any] = {"text": texts, "label": _labels(labels)}
    if aug is not None:
        out["is_augmented"] = torch.tensor(aug, dtype=torch.bool)
    return out


def collate_images(batch: Sequence[Any]) -> dict[str, Any]:
    """Stack HxW or HxWxC arrays into a float tensor ``(N, C, H, W)``; uint8 is scaled to [0, 1].
    Images of different sizes are an error that names the first mismatch."""
    images, labels, aug = _split(batch)
    arrays = [np.asarray(im) for im in images]
    for k, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise ValueError(
                f"image {k} has shape {a.shape}, image 0 has {arrays[0].shape}: "
                "resize before collating"
            )
    x = np.stack(arrays)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"expected HxW or HxWxC images, got shape {arrays[0].shape}")
    t = torch.from_numpy(np.ascontiguousarray(x))
    t = t.float() / 255.0 if x.dtype == np.uint8 else t.float()
    out: dict[str, Any] = {"image": t, "label": _labels(labels)}
    if aug is not None:
        out["is_augmented"] = torch.tensor(aug, dtype=torch.bool)
    return out
