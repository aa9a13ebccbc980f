"""The two-sided similarity band that separates drift, useful variation and near-copies."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fidelity.verdict import Reason, Verdict


@dataclass(frozen=True)
class Band:
    """Accept a candidate when ``min_similarity <= similarity <= max_similarity``.

    Below the band the meaning drifted (``drift``); above it the candidate is a near-copy that
    adds nothing to training (``near_duplicate``). Both bounds are cosine similarities in [-1, 1].
    """

    min_similarity: float = 0.70
    max_similarity: float = 0.98

    def __post_init__(self) -> None:
        for name in ("min_similarity", "max_similarity"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [-1, 1], got {value!r}")
        if self.min_similarity > self.max_similarity:
            raise ValueError(
                f"min_similarity ({self.min_similarity}) is above max_similarity "
                f"({self.max_similarity}): no candidate could be accepted"
            )

    def judge(self, similarity: float) -> Verdict:
        """The verdict for one similarity."""
        s = float(similarity)
        if s < self.min_similarity:
            return Verdict(
                s, False, Reason.DRIFT, f"similarity {s:.3f} < {self.min_similarity:.3f}"
            )
        if s > self.max_similarity:
            return Verdict(
                s, False, Reason.NEAR_DUPLICATE, f"similarity {s:.3f} > {self.max_similarity:.3f}"
            )
        return Verdict(s, True, Reason.ACCEPTED, "")

    def to_dict(self) -> dict:
        return asdict(self)
