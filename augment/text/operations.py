"""The first module's names, kept importable (``from augment.text.operations import ...``);
new code imports from :mod:`augment.text`."""

from augment.text.base import TextOperation
from augment.text.eda import WordDeletion, WordSwap
from augment.text.pipeline import TextChain

__all__ = ["TextChain", "TextOperation", "WordDeletion", "WordSwap"]
