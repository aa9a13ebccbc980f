"""The LAMBADA selection rule: of the candidates that passed, keep the top N per label by the
label check's probability for their source's label (Anaby-Tavor et al. 2020)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from fidelity.verdict import Reason, Verdict


@dataclass
class Selection:
    """``kept``: positions of the selected candidates, best first within each label;
    ``verdicts``: one per candidate, in input order (the ones passed over are now
    ``label_shift`` with their rank in the detail)."""

    kept: list[int]
    verdicts: list[Verdict]


def top_per_label(verdicts: Sequence[Verdict], labels: Sequence[Hashable], n: int) -> Selection:
    """Keep, per label, the ``n`` accepted candidates with the highest ``label_probability``.

    ``labels[i]`` is the label of candidate ``i``'s source. Accepted candidates without a
    label probability (the label check did not run on them) rank last. Rejected candidates keep
    their verdicts; accepted ones beyond the top ``n`` become ``label_shift`` with a detail such
    as ``rank 12 of label 'card_arrival' by label probability (0.41); top 10 kept``.
    """
    if len(labels) != len(verdicts):
        raise ValueError(f"{len(labels)} labels for {len(verdicts)} verdicts")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    by_label: dict[Hashable, list[int]] = defaultdict(list)
    for i, v in enumerate(verdicts):
        if v.accepted:
            by_label[labels[i]].append(i)
    out = list(verdicts)
    kept: list[int] = []
    for label, rows in by_label.items():

        def prob(i: int) -> float:
            p = verdicts[i].label_probability
            return -math.inf if math.isnan(p) else p

        rows.sort(key=lambda i: (-prob(i), i))
        kept.extend(rows[:n])
        for rank, i in enumerate(rows[n:], start=n + 1):
            v = verdicts[i]
            out[i] = Verdict(
                v.similarity,
                False,
                Reason.LABEL_SHIFT,
                f"rank {rank} of label {label!r} by label probability ({prob(i):.3f}); "
                f"top {n} kept",
                v.scores,
            )
    return Selection(kept, out)
