"""Image augmentation on albumentations: contrast and rotation families, presets (chest X-ray,
photo, document), per-sample seeds and the parameters drawn for each sample.

``IMAGE`` is the modality record: the default filter is EfficientNet-Lite0 embeddings with the
band measured for them (:data:`fidelity.encoders.image.RECOMMENDED_BAND`); ``augment run``
writes variants as PNG files.
"""

from __future__ import annotations

from typing import Any

from augment.image.files import markdown_examples, read_written, write_image
from augment.image.pipeline import ImagePipeline
from augment.image.presets import PRESETS
from augment.image.transforms import BORDERS, contrast, rotation
from augment.pipeline import Modality, register
from fidelity.band import Band
from fidelity.filter import FidelityFilter


def _band() -> Band:
    from fidelity.encoders.image import RECOMMENDED_BAND

    return RECOMMENDED_BAND


def default_filter() -> FidelityFilter:
    """EfficientNet-Lite0 embeddings with their measured band."""
    from fidelity.encoders.image import ImageEncoder

    return FidelityFilter.from_band(_band(), ImageEncoder())


def config_filter(f: Any, shard_rows: int) -> FidelityFilter:
    """The filter of an ``augment run`` job's ``filter`` section."""
    from fidelity.encoders.image import ImageEncoder

    encoder = ImageEncoder(device=f.device, batch_size=f.batch_size, backend=f.backend)
    return FidelityFilter(encoder, f.min_similarity, f.max_similarity, f.check_specs())


IMAGE = register(
    Modality(
        name="image",
        pipeline=ImagePipeline,
        default_filter=default_filter,
        config_filter=config_filter,
        default_band=_band,
        write_payload=write_image,
        read_payload=read_written,
        report_examples=markdown_examples,
        input_formats=("images", "npz"),
    )
)

__all__ = ["BORDERS", "IMAGE", "PRESETS", "ImagePipeline", "contrast", "rotation"]
