"""Text augmentation: seeded, serializable paraphrase pipelines that never alter protected
spans (numbers, amounts, dates, negations, modals, glossary terms).

Quick start::

    from augment.text import TextPipeline
    pipe = TextPipeline.from_preset("legal", glossary=["the Tenant"])
    text, ops = pipe.apply("The Tenant shall not pay $1,200 before 1 March 2024.", seed=7)

``TEXT`` is the modality record: the default filter is all-MiniLM-L6-v2 sentence embeddings
with the default band; ``augment run`` writes texts as they are.
"""

from __future__ import annotations

from typing import Any

from augment.pipeline import Modality, register
from augment.text.backtranslation import ApertiumBackTranslation
from augment.text.base import TextOperation
from augment.text.compose import OneOf, Sequential, Sometimes
from augment.text.eda import RandomDeletion, RandomInsertion, RandomSwap
from augment.text.noise import KeyboardNoise, OcrNoise, SpellingNoise
from augment.text.pipeline import TextPipeline
from augment.text.presets import PRESETS
from augment.text.protected import ProtectedSpans, Span
from augment.text.synonyms import SynonymReplacement, WordNetLexicon
from fidelity.filter import FidelityFilter


def default_filter() -> FidelityFilter:
    """all-MiniLM-L6-v2 (the packaged copy) with the default band."""
    return FidelityFilter()


def config_filter(f: Any, shard_rows: int) -> FidelityFilter:
    """The filter of an ``augment run`` job's ``filter`` section (the encoder's cache holds
    two shards of texts)."""
    from fidelity.encoders.text import TextEncoder

    encoder = TextEncoder(
        model=f.model,
        device=f.device,
        batch_size=f.batch_size,
        cache_size=max(10_000, 2 * shard_rows),
        backend=f.backend,
    )
    return FidelityFilter(encoder, f.min_similarity, f.max_similarity, f.check_specs())


TEXT = register(
    Modality(
        name="text",
        pipeline=TextPipeline,
        default_filter=default_filter,
        config_filter=config_filter,
    )
)

__all__ = [
    "PRESETS",
    "TEXT",
    "ApertiumBackTranslation",
    "KeyboardNoise",
    "OcrNoise",
    "OneOf",
    "ProtectedSpans",
    "RandomDeletion",
    "RandomInsertion",
    "RandomSwap",
    "Sequential",
    "Sometimes",
    "Span",
    "SpellingNoise",
    "SynonymReplacement",
    "TextOperation",
    "TextPipeline",
    "WordNetLexicon",
]
