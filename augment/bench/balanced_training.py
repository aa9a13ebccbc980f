"""Class-balanced training of the image benchmark's binary classifiers (the small CNN and the
fine-tuned EfficientNet-Lite0): one seeding rule, one batch draw and one Adam loop, so that every
arm and model is trained the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def seeded_rng(seed: Sequence[int] | int) -> np.random.Generator:
    """The generator of a training run's batches, after seeding torch from it (call it before
    building the network, so that the initial weights follow ``seed`` too)."""
    import torch

    key = list(seed) if isinstance(seed, Sequence) else [int(seed)]
    rng = np.random.default_rng(key)
    torch.manual_seed(int(rng.integers(2**62)))
    return rng


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


def fit_balanced(
    net: Any,
    x: Any,
    labels: np.ndarray,
    steps: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    rng: np.random.Generator,
) -> Any:
    """Train ``net`` (one logit per input) on inputs ``x`` and 0/1 ``labels`` for exactly
    ``steps`` Adam steps on :func:`balanced_batches` (binary cross-entropy); returns it in eval
    mode."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    labels = np.asarray(labels)
    y = torch.as_tensor(labels, dtype=torch.float32)
    draws = balanced_batches(labels, steps, batch_size, rng)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    net.train()
    for step in range(steps):
        idx = torch.from_numpy(draws[step])
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x[idx]).reshape(-1), y[idx]).backward()
        opt.step()
    return net.eval()
