"""Text augmentation: seeded, serializable paraphrase pipelines that never alter protected
spans (numbers, amounts, dates, negations, modals, glossary terms).

Quick start::

    from augment.text import TextPipeline
    pipe = TextPipeline.from_preset("legal", glossary=["the Tenant"])
    text, ops = pipe.apply("The Tenant shall not pay $1,200 before 1 March 2024.", seed=7)
"""

from augment.text.backtranslation import ApertiumBackTranslation
from augment.text.base import TextOperation
from augment.text.eda import (
    RandomDeletion,
    RandomInsertion,
    RandomSwap,
    WordDeletion,
    WordSwap,
)
from augment.text.noise import KeyboardNoise, OcrNoise, SpellingNoise
from augment.text.pipeline import OneOf, Sequential, Sometimes, TextChain, TextPipeline
from augment.text.protected import ProtectedSpans, Span
from augment.text.synonyms import SynonymReplacement, WordNetLexicon

__all__ = [
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
    "TextChain",
    "TextOperation",
    "TextPipeline",
    "WordDeletion",
    "WordNetLexicon",
    "WordSwap",
]
