"""fidelity: score (source, candidate) pairs and keep the variants that still mean what their
source meant. Knows nothing of how candidates are made."""

from fidelity.band import Band
from fidelity.calibrate import Calibration, ThresholdCalibration, calibrate, calibrate_checks
from fidelity.checks import BandCheck, Check, FluencyCheck, LabelCheck, SiblingCheck
from fidelity.encoders.base import EmbeddingCache, Encoder
from fidelity.encoders.image import ImageEncoder
from fidelity.encoders.tabular import TabularEncoder
from fidelity.encoders.text import TextEncoder
from fidelity.filter import FidelityFilter
from fidelity.segment_filter import SegmentFilter
from fidelity.selection import Selection, top_per_label
from fidelity.verdict import Reason, Verdict

__all__ = [
    "Band",
    "BandCheck",
    "Calibration",
    "Check",
    "FluencyCheck",
    "LabelCheck",
    "Selection",
    "SiblingCheck",
    "ThresholdCalibration",
    "calibrate_checks",
    "top_per_label",
    "EmbeddingCache",
    "Encoder",
    "FidelityFilter",
    "ImageEncoder",
    "Reason",
    "SegmentFilter",
    "TabularEncoder",
    "TextEncoder",
    "Verdict",
    "calibrate",
]
