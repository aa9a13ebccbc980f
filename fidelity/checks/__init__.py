"""The checks a :class:`fidelity.FidelityFilter` runs in order on (source, candidate) pairs:
``band`` (similarity), ``siblings`` (de-duplication among variants of one source), ``label``
(label preservation) and ``fluency`` (language-model likelihood). Each is batched; configs name
them (``checks=["band", {"name": "label", "judge": "knn"}]``)."""

from fidelity.checks.band import BandCheck
from fidelity.checks.base import REGISTRY, Check, CheckStats, Outcome, PairBatch, make_check
from fidelity.checks.fluency import FluencyCheck, FluencyScorer
from fidelity.checks.label import CrossFitJudge, KNNJudge, LabelCheck, LabelJudge, ModelJudge
from fidelity.checks.siblings import SiblingCheck

__all__ = [
    "REGISTRY",
    "BandCheck",
    "Check",
    "CheckStats",
    "CrossFitJudge",
    "FluencyCheck",
    "FluencyScorer",
    "KNNJudge",
    "LabelCheck",
    "LabelJudge",
    "ModelJudge",
    "Outcome",
    "PairBatch",
    "SiblingCheck",
    "make_check",
]
