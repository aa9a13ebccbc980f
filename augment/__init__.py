"""augment: targeted data augmentation with a semantic-fidelity filter."""

from augment._version import __version__
from augment.candidate import Candidate, Operation, sample_seed
from augment.pipeline import Pipeline
from augment.runner import Augmenter, AugmentResult, Source

__all__ = [
    "AugmentResult",
    "Augmenter",
    "Candidate",
    "Operation",
    "Pipeline",
    "Source",
    "__version__",
    "sample_seed",
]
