"""The pretrained classifier of the image benchmark: EfficientNet-Lite0 (ImageNet weights) with
its last block and its 1x1 head convolution fine-tuned and a new linear head, the rest frozen.

A 28x28 X-ray is upsampled (bilinear) to ``image_size`` pixels, replicated to three channels and
scaled as the converted TensorFlow weights expect (``(pixel - 127) / 128``). Because everything
below the tuned block is frozen (batch norm included), its output is computed once per distinct
image (:class:`Lite0Trunk`, cached by the image's bytes) and training runs the tuned tail alone:
at 64 px the trunk ends at 2x2x192, and the tail (block 16, the head convolution, the new head)
costs about 4 M multiply-adds per image. Batch norm in the tail stays in eval mode (ImageNet
statistics; its scale and shift are trained): batches of a few-shot sample are too small and too
repetitive to re-estimate them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augment.bench.balanced_training import fit_balanced, seeded_rng
from fidelity.encoders.efficientnet_lite import (
    HEAD_CHANNELS,
    INPUT_MEAN,
    INPUT_STD,
    EfficientNetLite0,
    load_efficientnet_lite0,
)


@dataclass(frozen=True)
class Lite0Settings:
    """The fine-tuning of :func:`train_lite0`, the same for every arm (fixed before any test
    score was seen; not tuned): Adam for ``steps`` steps on batches of ``batch_size`` drawn with
    replacement, half from each class, learning rate ``lr``, weight decay ``weight_decay``, the
    last ``tuned_blocks`` MBConv blocks and the head convolution trained, dropout ``dropout``
    before the new linear head, inputs upsampled to ``image_size`` pixels."""

    image_size: int = 64
    steps: int = 150
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    tuned_blocks: int = 1
    dropout: float = 0.2

    def describe(self) -> dict[str, Any]:
        return {
            "model": f"EfficientNet-Lite0 (ImageNet), last {self.tuned_blocks} MBConv block(s) "
            "+ 1x1 head conv fine-tuned, new linear head, rest frozen; batch norm in eval mode",
            "input": f"28x28 bilinear-upsampled to {self.image_size}x{self.image_size}, gray "
            "replicated to 3 channels, (pixel - 127) / 128",
            "optimizer": "Adam",
            "batch": "drawn with replacement, half from each class",
            "tuning": "none: fixed and the same for every arm",
            **asdict(self),
        }


class Lite0Tail(nn.Module):
    """The tuned part: the last blocks, the head convolution (with its batch norm), global
    average pooling, dropout and one logit (pneumonia)."""

    def __init__(self, base: EfficientNetLite0, tuned_blocks: int, dropout: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(copy.deepcopy(list(base._blocks)[-tuned_blocks:]))
        self.conv_head = copy.deepcopy(base._conv_head)
        self.bn = copy.deepcopy(base._bn1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(HEAD_CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        x = F.relu6(self.bn(self.conv_head(x)))
        return self.fc(self.dropout(x.mean(dim=(2, 3)))).squeeze(1)

    def train(self, mode: bool = True) -> Lite0Tail:
        super().train(mode)
        for m in self.modules():  # batch norm keeps ImageNet statistics
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self


class Lite0Trunk:
    """The frozen part of EfficientNet-Lite0 (stem and all blocks but the tuned ones), with the
    features of every image it has seen cached by the image's bytes."""

    def __init__(self, settings: Lite0Settings | None = None, weights: Any = None) -> None:
        self.settings = settings or Lite0Settings()
        self.base = load_efficientnet_lite0(weights)
        for p in self.base.parameters():
            p.requires_grad_(False)
        self._cache: dict[bytes, torch.Tensor] = {}

    def _inputs(self, images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
        size = self.settings.image_size
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return ((x - INPUT_MEAN) / INPUT_STD).expand(-1, 3, -1, -1)

    def compute(self, images: np.ndarray, batch: int = 512) -> torch.Tensor:
        """Trunk features of uint8 ``(n, H, W)`` images (not cached: for test sets)."""
        b = self.base
        keep = len(b._blocks) - self.settings.tuned_blocks
        out = []
        with torch.no_grad():  # not inference mode: the tail trains on these
            for i in range(0, len(images), batch):
                x = F.relu6(b._bn0(b._conv_stem(self._inputs(images[i : i + batch]))))
                for block in list(b._blocks)[:keep]:
                    x = block(x)
                out.append(x)
        return torch.cat(out)

    def features(self, images: np.ndarray) -> torch.Tensor:
        """Trunk features of uint8 ``(n, H, W)`` training images, computed once per distinct
        image."""
        keys = [np.ascontiguousarray(im).tobytes() for im in images]
        first: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in self._cache:
                first.setdefault(k, i)
        if first:
            feats = self.compute(np.stack([images[i] for i in first.values()]))
            self._cache.update(zip(first, feats))
        return torch.stack([self._cache[k] for k in keys])

    def tail(self) -> Lite0Tail:
        """A fresh tuned part from the pretrained weights (a new random linear head)."""
        s = self.settings
        return Lite0Tail(self.base, s.tuned_blocks, s.dropout)


def train_lite0(
    trunk: Lite0Trunk,
    features: torch.Tensor,
    labels: np.ndarray,
    seed: Sequence[int] | int = 0,
) -> Lite0Tail:
    """Fine-tune a fresh :class:`Lite0Tail` on trunk ``features`` and 0/1 ``labels`` for exactly
    ``trunk.settings.steps`` Adam steps (balanced batches drawn with replacement). The same
    ``seed`` gives the same head initialisation, batches and result."""
    s = trunk.settings
    rng = seeded_rng(seed)
    net = trunk.tail()
    for p in net.parameters():  # copied from the frozen base
        p.requires_grad_(True)
    return fit_balanced(net, features, labels, s.steps, s.batch_size, s.lr, s.weight_decay, rng)
