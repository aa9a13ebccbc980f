"""Verdicts: what the fidelity filter decided about one candidate, and why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Reason(str, Enum):
    """Why a candidate was kept or rejected.

    ``ACCEPTED``        passed every check.
    ``DRIFT``           similarity below the band's lower bound: the meaning changed.
    ``NEAR_DUPLICATE``  above the band's upper bound, identical to its source, or identical or
                        near-identical to an earlier sibling (a variant of the same source):
                        adds nothing.
    ``LABEL_SHIFT``     a classifier of the labelled sources no longer gives it its source's
                        label (another label is more likely, or its label's probability is
                        below the threshold).
    ``DISFLUENT``       a language model finds it much less likely, per token, than its source.
    ``CONSTRAINT``      a protected span, label or validity rule broke.
    ``INVALID``         the candidate (or its source) cannot be scored: empty, wrong type or shape.
    """

    ACCEPTED = "accepted"
    DRIFT = "drift"
    NEAR_DUPLICATE = "near_duplicate"
    LABEL_SHIFT = "label_shift"
    DISFLUENT = "disfluent"
    CONSTRAINT = "constraint"
    INVALID = "invalid"

    def __str__(self) -> str:  # prints as its value in tables and logs
        return self.value


@dataclass(frozen=True)
class Verdict:
    """The filter's decision on one (source, candidate) pair.

    ``similarity`` is the cosine similarity of the two embeddings (NaN where it was not computed,
    e.g. for ``invalid``); ``detail`` says in words what decided it; ``scores`` holds every score
    a check computed for the pair (``similarity``, ``label_probability``, ``predicted_label``,
    ``predicted_probability``, ``fluency_delta``, ...), accepted or not: a pair rejected by an
    early check carries only the scores computed before it was decided.
    """

    similarity: float
    accepted: bool
    reason: Reason
    detail: str = ""
    scores: Mapping[str, Any] = field(default_factory=dict, compare=True, hash=False)

    @classmethod
    def invalid(cls, detail: str) -> Verdict:
        return cls(math.nan, False, Reason.INVALID, detail)

    @classmethod
    def constraint(cls, detail: str, similarity: float = math.nan) -> Verdict:
        return cls(similarity, False, Reason.CONSTRAINT, detail)

    def score(self, name: str, default: Any = math.nan) -> Any:
        """One score by name (``default`` when no check computed it)."""
        return self.scores.get(name, default)

    @property
    def label_probability(self) -> float:
        """Probability of the source's label under the label check's judge (NaN if not run)."""
        return float(self.scores.get("label_probability", math.nan))

    @property
    def predicted_label(self) -> Any:
        """The judge's most likely label for the candidate (None if the label check did not run)."""
        return self.scores.get("predicted_label")

    @property
    def fluency_delta(self) -> float:
        """Per-token log-likelihood of the candidate minus its source's (NaN if not run)."""
        return float(self.scores.get("fluency_delta", math.nan))

    def to_dict(self) -> dict:
        """A flat record: the four fields, then every score other than ``similarity``."""
        d: dict[str, Any] = {
            "similarity": self.similarity,
            "accepted": self.accepted,
            "reason": self.reason.value,
            "detail": self.detail,
        }
        for k, v in self.scores.items():
            if k not in d:
                d[k] = v
        return d
