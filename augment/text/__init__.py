"""Text augmentation: operations that make paraphrase candidates from a sentence."""

from augment.text.operations import TextChain, TextOperation, WordDeletion, WordSwap

__all__ = ["TextChain", "TextOperation", "WordDeletion", "WordSwap"]
