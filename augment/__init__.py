"""augment: targeted data augmentation with a semantic-fidelity filter."""

from augment._version import __version__
from augment.augmenter import Augmenter
from augment.candidate import Candidate, Operation, Source, sample_seed
from augment.pipeline import Modality, Pipeline
from augment.result import AugmentResult

__all__ = [
    "AugmentResult",
    "Augmenter",
    "Candidate",
    "Modality",
    "Operation",
    "Pipeline",
    "Source",
    "__version__",
    "sample_seed",
]
