"""Acquisition corruptions of chest X-rays: the robustness test set of the image benchmark.

The corruptions, families and severity parameters are MedMNIST-C's for PneumoniaMNIST (Di Salvo
et al. 2024, "MedMNIST-C: Comprehensive benchmark and improved classifier robustness by
simulating realistic image corruptions", arXiv 2406.17536), read from the registry of its code,
``medmnistc/corruptions/registry.py`` (``CORRUPTIONS_DS["pneumoniamnist"]``) and its folds
(``CORRUPTIONS_DS_FOLDS``), repository francescodisalvo05/medmnistc-api, commit b6dee0e. Every
value below is theirs unless it says *our choice*.

How it is made here. MedMNIST-C corrupts the 224-pixel images as three replicated RGB channels
(PIL, scikit-image, torchvision) and converts the result to grayscale. Here the 28-pixel images
the benchmark trains on are corrupted, also as three replicated channels (each channel gets its
own noise, as in MedMNIST-C) and brought back to one channel with the same ITU-R 601 luma
weights (``cv2.cvtColor``; independent noise per channel is thereby about 0.67x as strong in the
gray result, as in the published set). The operations are albumentations transforms run through
:class:`augment.image.ImagePipeline` (seeded per sample), except pixelate and three
noises that albumentations does differently (its ``Downscale`` is not PIL's BOX filter, its shot
noise works in a gamma-2.2 linear space, its salt-and-pepper flips whole pixels by count): those
are small numpy/PIL transforms below with MedMNIST-C's formulas.

=================  ==============  ===========================================================
corruption         family          severities 1..5 (MedMNIST-C's values), how applied
=================  ==============  ===========================================================
pixelate           digital         size factor 0.8 0.7 0.6 0.5 0.4: down and up with PIL's BOX
                                   filter, as MedMNIST-C (PIL; albumentations' ``Downscale``
                                   differs from it by as much as the corruption on 28 px).
                                   Not monotone at 28 px: 0.5 (14 px) is an exact 2x box and
                                   changes an image less than 0.6 (16 px, blended); kept as
                                   published.
jpeg_compression   digital         JPEG quality 50 30 15 10 7 (``ImageCompression``). On 28 px
                                   images the 8x8 JPEG blocks are a larger share of the image
                                   than on 224 px: harsher than the published set.
gaussian_noise     noise           std 0.04 0.05 0.06 0.07 0.08 of the range (``GaussNoise``)
speckle_noise      noise           std 0.05 0.07 0.10 0.15 0.20 of ``x + x * N(0, std)`` (numpy)
impulse_noise      noise           salt-and-pepper amount 0.005 0.01 0.013 0.017 0.02: each
                                   channel value set to 0 or 255 with that probability
                                   (numpy, as scikit-image's ``random_noise(mode="s&p")``)
shot_noise         noise           photons per unit 300 200 150 100 80: ``Poisson(x * k) / k``
                                   (numpy)
gaussian_blur      blur            kernel 3 5 7 9 11 with torchvision's sigma for that kernel,
                                   ``0.3 * ((k - 1) / 2 - 1) + 0.8`` = 0.8 .. 2.0
                                   (``GaussianBlur``). *Our choice*: MedMNIST-C blurs 224 px
                                   images; the same kernel in 28 px units is 8x stronger
                                   relative to the image, but scaled down by 8 it would change
                                   a 28 px image by less than one gray level.
brightness_up      color           factor 1.1 1.2 1.3 1.4 1.5 (PIL ``Brightness``: ``x * f``;
brightness_down    color           0.9 0.8 0.7 0.6 0.5    ``RandomBrightnessContrast``' contrast
                                                          term alone, which multiplies)
contrast_up        color           factor 1.1 1.2 1.3 1.4 1.6 (PIL ``Contrast``:
contrast_down      color           0.9 0.8 0.7 0.6 0.4    ``mean + f * (x - mean)``; the same
                                                          transform with its brightness term at
                                                          ``(1 - f) * mean``)
gamma_corr_up      task_specific   gamma 1.1 1.2 1.3 1.4 1.6 (``RandomGamma``: ``x ** gamma``)
gamma_corr_down    task_specific   gamma 0.9 0.8 0.7 0.6 0.4
=================  ==============  ===========================================================

The noise-free corruptions are the same for every seed. Noise is made from a seed per (test
image, corruption, severity), :func:`corruption_seed`, so the corrupted set is the same in any
process and order. Applying corruptions at 28 px (not at 224 px and downsampled, which would
average most of the noise away) is *our choice*: it is the resolution the classifiers see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2
import numpy as np

from augment.candidate import sample_seed
from augment.image import ImagePipeline

SEVERITIES = (1, 2, 3, 4, 5)


# ---------------------------------------------------------------------------- numpy noises
class SpeckleNoise(A.ImageOnlyTransform):
    """``x + x * N(0, std)`` on [0, 1] intensities, clipped (MedMNIST-C's speckle noise)."""

    def __init__(self, std: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.std = std

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        x = img.astype(np.float64) / 255.0
        noise = self.random_generator.normal(scale=self.std, size=x.shape)
        return _to_uint8(x + x * noise)


class ImpulseNoise(A.ImageOnlyTransform):
    """Salt and pepper: each value set to 0 or 255 (even odds) with probability ``amount``, as
    scikit-image's ``random_noise(mode="s&p")`` does (MedMNIST-C's impulse noise)."""

    def __init__(self, amount: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.amount = amount

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        rng = self.random_generator
        hit = rng.random(img.shape) < self.amount
        salt = rng.random(img.shape) < 0.5
        out = img.copy()
        out[hit & salt] = 255
        out[hit & ~salt] = 0
        return out


class ShotNoise(A.ImageOnlyTransform):
    """``Poisson(x * photons) / photons`` on [0, 1] intensities, clipped (MedMNIST-C's shot
    noise; fewer photons is more noise)."""

    def __init__(self, photons: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.photons = photons

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        x = img.astype(np.float64) / 255.0
        return _to_uint8(self.random_generator.poisson(x * self.photons) / self.photons)


class Pixelate(A.ImageOnlyTransform):
    """Down to ``int(size * factor)`` pixels and back up, both with PIL's BOX filter
    (MedMNIST-C's pixelate; albumentations' ``Downscale`` and OpenCV's area interpolation
    differ from it by about as much as the corruption itself on 28 px images)."""

    def __init__(self, factor: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.factor = factor

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        from PIL import Image

        h, w = img.shape[:2]
        small = (int(w * self.factor), int(h * self.factor))
        pil = Image.fromarray(img).resize(small, Image.BOX).resize((w, h), Image.BOX)
        return np.asarray(pil)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8, truncated as MedMNIST-C's ``(x * 255).astype(np.uint8)``."""
    return (np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


# ---------------------------------------------------------------------------- albumentations
def _jpeg(q: int) -> list[A.BasicTransform]:
    return [A.ImageCompression(compression_type="jpeg", quality_range=(q, q), p=1.0)]


def _gaussian_noise(std: float) -> list[A.BasicTransform]:
    return [A.GaussNoise(std_range=(std, std), per_channel=True, p=1.0)]


def _gaussian_blur(k: int) -> list[A.BasicTransform]:
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8  # torchvision's default for kernel k
    return [A.GaussianBlur(blur_limit=(k, k), sigma_limit=(sigma, sigma), p=1.0)]


def _brightness(f: float) -> list[A.BasicTransform]:
    # contrast term alone: x * f, as PIL's Brightness enhancement
    return [
        A.RandomBrightnessContrast(
            brightness_limit=(0.0, 0.0), contrast_limit=(f - 1, f - 1), p=1.0
        )
    ]


def _contrast(f: float) -> list[A.BasicTransform]:
    # x * f + (1 - f) * mean(x): PIL's Contrast enhancement
    return [
        A.RandomBrightnessContrast(
            brightness_limit=(1 - f, 1 - f),
            contrast_limit=(f - 1, f - 1),
            brightness_by_max=False,
            p=1.0,
        )
    ]


def _gamma(g: float) -> list[A.BasicTransform]:
    return [A.RandomGamma(gamma_limit=(100 * g, 100 * g), p=1.0)]


@dataclass(frozen=True)
class Corruption:
    """One corruption: its MedMNIST-C family, its parameter at severities 1..5 and the
    transforms that apply a parameter."""

    name: str
    family: str
    params: tuple[float, ...]
    build: Any  # param -> list of albumentations transforms

    def pipeline(self, severity: int) -> ImagePipeline:
        """The transforms of ``severity`` (1..5) as a seeded pipeline."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        p = self.params[severity - 1]
        return ImagePipeline(self.build(p), name=f"{self.name}@{severity}")


def _registry() -> dict[str, Corruption]:
    table = [
        ("pixelate", "digital", (0.8, 0.7, 0.6, 0.5, 0.4), lambda f: [Pixelate(f)]),
        ("jpeg_compression", "digital", (50, 30, 15, 10, 7), _jpeg),
        ("gaussian_noise", "noise", (0.04, 0.05, 0.06, 0.07, 0.08), _gaussian_noise),
        ("speckle_noise", "noise", (0.05, 0.07, 0.10, 0.15, 0.20), lambda s: [SpeckleNoise(s)]),
        ("impulse_noise", "noise", (0.005, 0.01, 0.013, 0.017, 0.02), lambda a: [ImpulseNoise(a)]),
        ("shot_noise", "noise", (300, 200, 150, 100, 80), lambda k: [ShotNoise(k)]),
        ("gaussian_blur", "blur", (3, 5, 7, 9, 11), _gaussian_blur),
        ("brightness_up", "color", (1.1, 1.2, 1.3, 1.4, 1.5), _brightness),
        ("brightness_down", "color", (0.9, 0.8, 0.7, 0.6, 0.5), _brightness),
        ("contrast_up", "color", (1.1, 1.2, 1.3, 1.4, 1.6), _contrast),
        ("contrast_down", "color", (0.9, 0.8, 0.7, 0.6, 0.4), _contrast),
        ("gamma_corr_up", "task_specific", (1.1, 1.2, 1.3, 1.4, 1.6), _gamma),
        ("gamma_corr_down", "task_specific", (0.9, 0.8, 0.7, 0.6, 0.4), _gamma),
    ]
    return {name: Corruption(name, fam, params, build) for name, fam, params, build in table}


#: Every PneumoniaMNIST corruption of MedMNIST-C by name, in its registry's order.
CORRUPTIONS: dict[str, Corruption] = _registry()
#: Corruption name -> family (MedMNIST-C's folds; ``task_specific`` is gamma for X-rays).
FAMILY_OF: dict[str, str] = {name: c.family for name, c in CORRUPTIONS.items()}
#: Families in the order reported, each with its corruptions.
FAMILIES: dict[str, tuple[str, ...]] = {
    f: tuple(n for n, g in FAMILY_OF.items() if g == f) for f in dict.fromkeys(FAMILY_OF.values())
}


def corruption_seed(random_state: int, image: int, name: str, severity: int) -> int:
    """The seed of corruption ``name`` at ``severity`` of test image ``image``."""
    return sample_seed(random_state, f"{image}/{name}", severity)


def corrupt(
    image: np.ndarray,
    name: str,
    severity: int,
    seed: int = 0,
    pipeline: ImagePipeline | None = None,
) -> np.ndarray:
    """Corruption ``name`` at ``severity`` (1..5) of one uint8 grayscale ``(H, W)`` image: the
    image as three replicated channels through the corruption, then luma; same shape and dtype.
    The same ``seed`` gives the same image. ``pipeline`` (``CORRUPTIONS[name].pipeline
    (severity)``) saves building it per call."""
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(
            f"a uint8 (H, W) grayscale image is needed, got {image.dtype} {image.shape}"
        )
    pipe = pipeline or CORRUPTIONS[name].pipeline(severity)
    rgb = np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    out = pipe(rgb, seed)
    return cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2GRAY)


@dataclass
class CorruptedSet:
    """One family's corrupted test set: every (corruption, severity, test image) of it."""

    family: str
    images: np.ndarray  # uint8 (n, H, W)
    labels: np.ndarray  # (n,)
    source: np.ndarray  # (n,) index of the clean test image
    corruption: np.ndarray  # (n,) corruption name
    severity: np.ndarray  # (n,) 1..5


def corrupted_test_sets(
    images: np.ndarray,
    labels: np.ndarray,
    families: Sequence[str] | None = None,
    severities: Sequence[int] = SEVERITIES,
    random_state: int = 0,
) -> dict[str, CorruptedSet]:
    """Each family's corrupted test set from clean uint8 ``images`` ``(n, H, W)``: every
    corruption of the family at every severity of every image (image ``i`` is ``source`` ``i``,
    its noise seeded by :func:`corruption_seed` with ``i``)."""
    out: dict[str, CorruptedSet] = {}
    labels = np.asarray(labels)
    for fam in families or FAMILIES:
        parts, names, sevs, srcs = [], [], [], []
        for name in FAMILIES[fam]:
            for s in severities:
                pipe = CORRUPTIONS[name].pipeline(s)
                parts.append(
                    np.stack(
                        [
                            corrupt(img, name, s, corruption_seed(random_state, i, name, s), pipe)
                            for i, img in enumerate(images)
                        ]
                    )
                )
                names += [name] * len(images)
                sevs += [s] * len(images)
                srcs.append(np.arange(len(images)))
        src = np.concatenate(srcs)
        out[fam] = CorruptedSet(
            fam, np.concatenate(parts), labels[src], src, np.array(names), np.array(sevs)
        )
    return out
