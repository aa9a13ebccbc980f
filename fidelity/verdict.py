"""Verdicts: what the fidelity filter decided about one candidate, and why."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum


class Reason(str, Enum):
    """Why a candidate was kept or rejected.

    ``ACCEPTED``        similarity inside the band: meaning kept, and it adds something.
    ``DRIFT``           below the lower bound: the meaning changed.
    ``NEAR_DUPLICATE``  above the upper bound, or identical to its source: adds nothing.
    ``CONSTRAINT``      a protected span, label or validity rule broke.
    ``INVALID``         the candidate (or its source) cannot be scored: empty, wrong type or shape.
    """

    ACCEPTED = "accepted"
    DRIFT = "drift"
    NEAR_DUPLICATE = "near_duplicate"
    CONSTRAINT = "constraint"
    INVALID = "invalid"

    def __str__(self) -> str:  # prints as its value in tables and logs
        return self.value


@dataclass(frozen=True)
class Verdict:
    """The filter's decision on one (source, candidate) pair.

    ``similarity`` is the cosine similarity of the two embeddings (NaN where it could not be
    computed, i.e. for ``invalid``); ``detail`` says in words what decided it.
    """

    similarity: float
    accepted: bool
    reason: Reason
    detail: str = ""

    @classmethod
    def invalid(cls, detail: str) -> Verdict:
        return cls(math.nan, False, Reason.INVALID, detail)

    @classmethod
    def constraint(cls, detail: str, similarity: float = math.nan) -> Verdict:
        return cls(similarity, False, Reason.CONSTRAINT, detail)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["reason"] = self.reason.value
        return d
