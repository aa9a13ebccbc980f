"""Sibling de-duplication: a variant that repeats an earlier variant of the same source."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import numpy as np

from fidelity.checks.base import Check, Outcome, PairBatch, item_key
from fidelity.verdict import Reason

_SPACE = re.compile(r"\s+")


def normalised(item: Any) -> Hashable:
    """The key two siblings must share to count as identical: text with whitespace collapsed and
    case folded; other items (arrays, rows) by their exact content."""
    if isinstance(item, str):
        return _SPACE.sub(" ", item).strip().casefold()
    return item_key(item)


class SiblingCheck(Check):
    """``near_duplicate`` for a candidate identical (after normalising whitespace and case) or
    near-identical (cosine above ``max_similarity``) to an EARLIER sibling: a candidate of the
    same source, earlier in the call, that is still undecided when this check runs.

    Put it last (the default order of :data:`fidelity.filter.DEFAULT_CHECKS` does) and the
    earlier siblings it compares against are exactly the accepted ones, so nothing is emitted
    twice and a copy of a rejected candidate keeps the reason that rejected the original.
    Siblings are the pairs with the same source id (``judge(..., source_ids=...)``), or with
    the same source item when no ids are given.

    ``max_similarity=None`` uses the filter's band maximum. ``remember=True`` keeps the accepted
    siblings across ``judge`` calls (for an augmenter that tops up a class by drawing more
    candidates later); :meth:`reset` forgets them.
    """

    name = "siblings"

    def __init__(self, max_similarity: float | None = None, remember: bool = False) -> None:
        self.max_similarity = max_similarity
        self.remember = remember
        self.reset()

    def reset(self) -> None:
        """Forget the siblings kept from earlier calls."""
        self._kept: dict[Hashable, list[tuple[Hashable, np.ndarray | None, str]]] = {}

    def check_many(self, batch: PairBatch) -> list[Outcome]:
        limit = batch.band.max_similarity if self.max_similarity is None else self.max_similarity
        vecs = batch.candidate_vectors
        kept = self._kept if self.remember else {}
        out: list[Outcome] = []
        for k, (sid, cand, name) in enumerate(zip(batch.source_ids, batch.candidates, batch.names)):
            key = normalised(cand)
            earlier = kept.setdefault(sid, [])
            verdict = Outcome({})
            best, best_name = -np.inf, ""
            for other_key, other_vec, other_name in earlier:
                if other_key == key:
                    verdict = Outcome(
                        {"sibling_similarity": 1.0},
                        Reason.NEAR_DUPLICATE,
                        f"identical to sibling {other_name} (after normalising whitespace and "
                        "case)",
                    )
                    break
                s = float(vecs[k] @ other_vec)
                if s > best:
                    best, best_name = s, other_name
            else:
                if earlier:
                    verdict.scores["sibling_similarity"] = best
                if best > limit:
                    verdict = Outcome(
                        {"sibling_similarity": best},
                        Reason.NEAR_DUPLICATE,
                        f"near-identical to sibling {best_name} (similarity {best:.3f} > "
                        f"{limit:.3f})",
                    )
            if not verdict.rejected:
                earlier.append((key, vecs[k], name))
            out.append(verdict)
        return out

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.max_similarity is not None:
            d["max_similarity"] = self.max_similarity
        if self.remember:
            d["remember"] = True
        return d
