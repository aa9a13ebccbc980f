"""The similarity band as a check: ``drift`` below it, ``near_duplicate`` above it."""

from __future__ import annotations

from typing import Any

from fidelity.band import Band
from fidelity.checks.base import Check, Outcome, PairBatch


class BandCheck(Check):
    """Cosine similarity of source and candidate embeddings inside ``[min, max]``.

    With ``min_similarity``/``max_similarity`` left at None the check reads the filter's band
    (``FidelityFilter(min_similarity=..., max_similarity=...)``), so the default filter and a
    filter built with ``checks=["band", ...]`` judge the same.
    """

    name = "band"

    def __init__(
        self, min_similarity: float | None = None, max_similarity: float | None = None
    ) -> None:
        self.min_similarity = min_similarity
        self.max_similarity = max_similarity
        if min_similarity is not None and max_similarity is not None:
            Band(min_similarity, max_similarity)  # validates

    def band_for(self, filter_band: Band) -> Band:
        """This check's band, filling unset bounds from the filter's."""
        lo = filter_band.min_similarity if self.min_similarity is None else self.min_similarity
        hi = filter_band.max_similarity if self.max_similarity is None else self.max_similarity
        return Band(lo, hi)

    def check_many(self, batch: PairBatch) -> list[Outcome]:
        band = self.band_for(batch.band)
        out = []
        for s in batch.similarity:
            v = band.judge(float(s))
            out.append(
                Outcome({"similarity": v.similarity}, None if v.accepted else v.reason, v.detail)
            )
        return out

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.min_similarity is not None:
            d["min_similarity"] = self.min_similarity
        if self.max_similarity is not None:
            d["max_similarity"] = self.max_similarity
        return d
