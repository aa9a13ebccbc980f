"""A batch sampler that caps the share of augmented samples in every batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from augment.torch.dataset import AugmentedDataset


class CappedBatchSampler(Sampler[list[int]]):
    """Batches that hold every original row once per epoch and at most
    ``floor(batch_size * max_augmented_share)`` augmented samples each.

    Over-augmentation makes a model memorise its augmentations; the cap bounds how much of each
    gradient step comes from variants. When the dataset has more variant slots than the cap lets
    through in one epoch, a different seeded subset is drawn each epoch. Indices carry the epoch
    (``epoch * len(dataset) + i``) so that :class:`AugmentedDataset` makes fresh variants each
    epoch, also in persistent workers. Call ``set_epoch`` before each epoch, as with
    ``DistributedSampler``.
    """

    def __init__(
        self,
        dataset: AugmentedDataset,
        batch_size: int,
        max_augmented_share: float = 0.5,
        shuffle: bool = True,
        drop_last: bool = False,
        random_state: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= max_augmented_share < 1:
            raise ValueError(f"max_augmented_share must be in [0, 1), got {max_augmented_share}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.max_augmented_share = max_augmented_share
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.random_state = random_state
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def augmented_per_batch(self) -> int:
        return int(math.floor(self.batch_size * self.max_augmented_share))

    def _plan(self) -> tuple[int, int]:
        n_orig, n_aug = self.dataset.n_originals, self.dataset.n_augmented
        per = min(self.augmented_per_batch, n_aug)
        n_batches = math.ceil(n_orig / (self.batch_size - per)) if n_orig else 0
        return n_batches, min(n_aug, n_batches * per)

    def __len__(self) -> int:
        n_batches, n_aug = self._plan()
        total = self.dataset.n_originals + n_aug
        return total // self.batch_size if self.drop_last else n_batches

    def __iter__(self) -> Iterator[list[int]]:
        n_orig, size = self.dataset.n_originals, len(self.dataset)
        n_batches, n_aug = self._plan()
        rng = np.random.default_rng([self.random_state, self.epoch])
        orig = rng.permutation(n_orig) if self.shuffle else np.arange(n_orig)
        aug = n_orig + (
            rng.permutation(self.dataset.n_augmented)[:n_aug] if self.shuffle else np.arange(n_aug)
        )
        orig_split = np.array_split(orig, n_batches) if n_batches else []
        aug_split = np.array_split(aug, n_batches) if n_batches else []
        offset = self.epoch * size
        for o, a in zip(orig_split, aug_split):
            batch = np.concatenate([o, a])
            if self.shuffle:
                rng.shuffle(batch)
            if self.drop_last and len(batch) < self.batch_size:
                continue
            yield [int(i) + offset for i in batch]
