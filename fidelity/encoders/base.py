"""What every encoder provides, and the embedding cache they share."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


def resolve_device(device: str | None) -> str:
    """``None`` or ``"auto"``: CUDA when available, else CPU."""
    if device not in (None, "auto"):
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@runtime_checkable
class Encoder(Protocol):
    """Maps a batch of items (texts, images, rows) to L2-normalised float32 vectors ``(n, d)``.

    The fidelity filter needs nothing else: any object with ``encode`` and a ``name`` plugs in.
    """

    name: str

    def encode(self, items: Sequence[Any]) -> np.ndarray: ...


@dataclass
class EncoderStats:
    """What the cache saved: items asked for, served from the cache, sent to the model."""

    requested: int = 0
    cache_hits: int = 0
    encoded: int = 0
    batches: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class EmbeddingCache:
    """A bounded least-recently-used map from an item's key to its embedding.

    A source with many candidates is encoded once; ``max_items=0`` turns caching off.
    """

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = int(max_items)
        self._store: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: Hashable) -> np.ndarray | None:
        vec = self._store.get(key)
        if vec is not None:
            self._store.move_to_end(key)
        return vec

    def put(self, key: Hashable, vec: np.ndarray) -> None:
        if self.max_items <= 0:
            return
        self._store[key] = vec
        self._store.move_to_end(key)
        while len(self._store) > self.max_items:
            self._store.popitem(last=False)

    def clear(self) -> None:
        self._store.clear()


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
