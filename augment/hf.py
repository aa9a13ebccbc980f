"""Hugging Face `datasets` integration: a function for ``Dataset.map(batched=True)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from augment.augmenter import (
    fit_filter,
    judge,
    make_candidates,
    raise_errors,
    resolve_filter,
    variant_requests,
)
from augment.candidate import Source
from augment.pipeline import Pipeline
from augment.targeting import plan_counts
from fidelity.filter import FidelityFilter

#: Columns ``augment_batch`` adds to each row.
EXTRA_COLUMNS = ("is_augmented", "source_index", "similarity", "reason", "operations")


def augment_batch(
    pipeline: Pipeline,
    fidelity_filter: FidelityFilter | None = None,
    n_variants: int | Mapping[Any, int] | pd.DataFrame = 1,
    column: str | None = "text",
    random_state: int = 0,
    keep_rejected: bool = False,
    label_column: str | None = "label",
    fit_on: Any = None,
) -> Callable[[dict[str, list], list[int]], dict[str, list]]:
    """A batched map function that returns each row followed by its filtered variants.

    Use it with indices, so that seeds and plans key on the row's position in the data set::

        ds = ds.map(augment_batch(pipe, flt, n_variants=2), batched=True, with_indices=True)

    Variants are made and judged by the augmentation core (:mod:`augment.augmenter`): the
    pipeline's constraint check, then ``fidelity_filter`` (default: the filter of the pipeline's
    modality, e.g. the image encoder for an image pipeline). Added columns: ``is_augmented``,
    ``source_index``, ``similarity``, ``reason``, ``operations`` (JSON text). Other columns are
    copied from the source row. Rejected variants are left out unless ``keep_rejected=True``
    (then ``reason`` says why); originals are always kept. A pipeline that raises stops the map
    with an error naming the row. Augment the training split only.

    Each pair is judged with its row's label (``label_column``, when the batch has it) and its
    index as source id. ``map`` sees one batch at a time, so a label check must be fitted on
    the whole data set first: pass ``fit_on=`` the data set being mapped (anything with
    ``column`` and ``label_column`` as columns: a ``datasets.Dataset``, a dict of lists, a
    DataFrame; row ``i`` gets id ``i``, matching ``with_indices``), or fit the filter yourself
    (``flt.fit(texts, labels, ids=range(len(texts)))``). An unfitted label check without
    ``fit_on`` is a ``ValueError`` saying so.

    ``column=None`` makes the whole row (a mapping of every column) the payload, for record
    pipelines (:class:`augment.records.RecordPipeline`: instruction and chat rows); a variant's
    fields then fill their columns.
    """
    counts = plan_counts(n_variants)
    flt = fidelity_filter
    if flt is not None and flt.needs_fit:
        if fit_on is None:
            raise ValueError(
                "the filter's label check is not fitted and augment_batch sees one batch at a "
                "time: pass fit_on=<the data set being mapped>, or call "
                "flt.fit(texts, labels, ids=range(len(texts))) first"
            )
        if label_column is None:
            raise ValueError("fit_on needs a label_column to fit the label check")
        texts, labels = list(fit_on[column]), list(fit_on[label_column])
        fit_filter(
            flt, [Source(i, t, lab) for i, (t, lab) in enumerate(zip(texts, labels))], "rows"
        )

    def the_filter() -> FidelityFilter:
        nonlocal flt
        if flt is None:
            flt = resolve_filter(pipeline, None)
        return flt

    def fn(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        if column is not None and column not in batch:
            raise KeyError(f"column {column!r} not in the batch (columns: {list(batch)})")
        rows = len(indices)
        labels = batch.get(label_column) if label_column is not None else None

        def payload_of(r: int) -> Any:
            return {k: batch[k][r] for k in batch} if column is None else batch[column][r]

        sources = [
            Source(indices[r], payload_of(r), None if labels is None else labels[r])
            for r in range(rows)
        ]
        cands, errors = make_candidates(pipeline, variant_requests(sources, counts, random_state))
        raise_errors(errors)
        payload = {s.id: s.payload for s in sources}
        verdicts = judge(
            pipeline,
            the_filter,
            [payload[c.source_id] for c in cands],
            [c.payload for c in cands],
            labels=[c.label for c in cands],
            source_ids=[c.source_id for c in cands],
        )
        by_row: dict[Any, list[int]] = {}
        for j, c in enumerate(cands):
            c.verdict = verdicts[j]
            by_row.setdefault(c.source_id, []).append(j)
        result: dict[str, list] = {k: [] for k in (*batch, *EXTRA_COLUMNS)}

        def add(r: int, item: Any, record: dict[str, Any]) -> None:
            for k in batch:
                if column is None:
                    result[k].append(item[k])
                else:
                    result[k].append(item if k == column else batch[k][r])
            for k in EXTRA_COLUMNS:
                result[k].append(record[k])

        for r in range(rows):
            idx = indices[r]
            original = {
                "is_augmented": False,
                "source_index": idx,
                "similarity": 1.0,
                "reason": "original",
                "operations": "[]",
            }
            add(r, sources[r].payload, original)
            for j in by_row.get(idx, []):
                c = cands[j]
                if not c.accepted and not keep_rejected:
                    continue
                rec = c.to_record()
                rec.update(
                    is_augmented=True, source_index=idx, similarity=float(c.verdict.similarity)
                )
                add(r, c.payload, rec)
        return result

    return fn
