"""Hugging Face `datasets` integration: a function for ``Dataset.map(batched=True)``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from augment.candidate import sample_seed
from augment.pipeline import Pipeline
from augment.targeting import plan_counts
from fidelity.filter import FidelityFilter


def augment_batch(
    pipeline: Pipeline,
    fidelity_filter: FidelityFilter | None = None,
    n_variants: int | Mapping[Any, int] | pd.DataFrame = 1,
    column: str = "text",
    random_state: int = 0,
    keep_rejected: bool = False,
) -> Callable[[dict[str, list], list[int]], dict[str, list]]:
    """A batched map function that returns each row followed by its filtered variants.

    Use it with indices, so that seeds and plans key on the row's position in the data set::

        ds = ds.map(augment_batch(pipe, flt, n_variants=2), batched=True, with_indices=True)

    Added columns: ``is_augmented``, ``source_index``, ``similarity``, ``reason``, ``operations``
    (JSON text). Other columns are copied from the source row. Rejected variants are left out
    unless ``keep_rejected=True`` (then ``reason`` says why); originals are always kept.
    Augment the training split only.
    """
    counts = plan_counts(n_variants)
    flt = fidelity_filter

    def fn(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        nonlocal flt
        if column not in batch:
            raise KeyError(f"column {column!r} not in the batch (columns: {list(batch)})")
        if flt is None:
            flt = FidelityFilter()
        rows = len(batch[column])
        srcs, cands, owners, ops = [], [], [], []
        for r in range(rows):
            idx = indices[r]
            n = counts if isinstance(counts, int) else counts.get(idx, 0)
            for v in range(n):
                out, applied = pipeline.apply(batch[column][r], sample_seed(random_state, idx, v))
                srcs.append(batch[column][r])
                cands.append(out)
                owners.append(r)
                ops.append(applied)
        verdicts = flt.judge(srcs, cands) if cands else []
        result: dict[str, list] = {k: [] for k in batch}
        extra = {
            k: [] for k in ("is_augmented", "source_index", "similarity", "reason", "operations")
        }
        by_row: dict[int, list[int]] = {}
        for j, r in enumerate(owners):
            by_row.setdefault(r, []).append(j)
        for r in range(rows):
            for k in batch:
                result[k].append(batch[k][r])
            extra["is_augmented"].append(False)
            extra["source_index"].append(indices[r])
            extra["similarity"].append(1.0)
            extra["reason"].append("original")
            extra["operations"].append("[]")
            for j in by_row.get(r, []):
                v = verdicts[j]
                if not v.accepted and not keep_rejected:
                    continue
                for k in batch:
                    result[k].append(cands[j] if k == column else batch[k][r])
                extra["is_augmented"].append(True)
                extra["source_index"].append(indices[r])
                extra["similarity"].append(float(v.similarity))
                extra["reason"].append(v.reason.value)
                extra["operations"].append(json.dumps([o.to_dict() for o in ops[j]]))
        result.update(extra)
        return result

    return fn
