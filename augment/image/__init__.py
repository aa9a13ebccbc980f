"""Image augmentation on albumentations: contrast and rotation families, presets (chest X-ray,
photo, document), per-sample seeds and the parameters drawn for each sample."""

from augment.image.pipeline import ImagePipeline
from augment.image.presets import PRESETS
from augment.image.transforms import BORDERS, contrast, rotation

__all__ = ["BORDERS", "PRESETS", "ImagePipeline", "contrast", "rotation"]
