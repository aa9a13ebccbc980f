"""Encoders map items of one modality to normalised vectors for the fidelity filter."""

from fidelity.encoders.base import EmbeddingCache, Encoder, EncoderStats
from fidelity.encoders.image import ImageEncoder
from fidelity.encoders.tabular import TabularEncoder
from fidelity.encoders.text import TextEncoder

__all__ = [
    "EmbeddingCache",
    "Encoder",
    "EncoderStats",
    "ImageEncoder",
    "TabularEncoder",
    "TextEncoder",
]
