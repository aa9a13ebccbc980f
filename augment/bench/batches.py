"""Class-balanced training batches shared by the image benchmark's models (the small CNN and the
fine-tuned EfficientNet-Lite0), so that every arm and model draws batches the same way."""

from __future__ import annotations

import numpy as np


def balanced_batches(
    labels: np.ndarray, steps: int, batch_size: int, rng: np.random.Generator
) -> np.ndarray:
    """``(steps, batch_size)`` training-row indices, the first half of each batch from class 0
    and the rest from class 1, drawn with replacement: every arm and model gets ``steps``
    batches of the same make-up, whatever its number of rows."""
    by_class = [np.flatnonzero(labels == c) for c in (0, 1)]
    if any(len(rows) == 0 for rows in by_class):
        raise ValueError("training needs rows of both classes")
    half = batch_size // 2
    return np.concatenate(
        [
            pool[rng.integers(0, len(pool), size=(steps, n))]
            for pool, n in zip(by_class, (half, batch_size - half))
        ],
        axis=1,
    )
