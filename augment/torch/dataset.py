"""`AugmentedDataset`: originals plus variants made and filtered on the fly, reproducibly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from torch.utils.data import Dataset

from augment.augmenter import fit_filter, judge, make_candidates, raise_errors, resolve_filter
from augment.candidate import Operation, Source, sample_seed
from augment.pipeline import Pipeline
from augment.targeting import check_plan_ids, plan_counts
from fidelity.filter import FidelityFilter
from fidelity.verdict import Verdict


class AugmentedDataset(Dataset):
    """Wraps a map-style dataset, a pandas frame or a list, and serves its rows followed by
    augmented variants.

    Indices ``0 .. n_originals-1`` are the original rows; the next ``n_augmented`` indices are
    variant slots (``n_variants`` per row: an int, a mapping from row id to count, or a plan
    DataFrame from :mod:`augment.targeting`). A slot's variant is made by ``pipeline`` from a seed
    that hashes (``random_state``, row id, epoch, variant, attempt), so every DataLoader worker and
    every rerun makes the same one. Variants are made and judged by the augmentation core
    (:mod:`augment.augmenter`): the pipeline's constraint check, then ``fidelity_filter``
    (default: the filter of the pipeline's modality). A variant that is rejected is retried
    with the next attempt seed, up to ``max_attempts``; if all are rejected the slot serves its
    original row and says so in its info.

    The epoch travels inside the index: :class:`CappedBatchSampler` yields
    ``epoch * len(dataset) + i``, so persistent workers see the epoch change. Plain indices below
    ``len(dataset)`` are epoch 0.

    ``prepare()`` encodes every source once in the calling process (call it before building the
    DataLoader): forked workers inherit the filled cache, and source embeddings are reused across
    epochs. DataLoader's batched fetch (``__getitems__``) judges a whole batch in one filter call.

    A filter with a label check that is not fitted yet is fitted here, at construction, on every
    row of ``data`` with its label (ids: the row ids), so that every worker judges with the same
    fit; a row without a label is an error naming it.

    Rows are ``(payload, label)`` pairs; with ``return_info=True`` they are dicts with
    ``payload``, ``label``, ``is_augmented``, ``source_index``, ``similarity``, ``reason``,
    ``operations``.
    """

    def __init__(
        self,
        data: Any,
        pipeline: Pipeline,
        fidelity_filter: FidelityFilter | None = None,
        n_variants: int | Mapping[Any, int] | pd.DataFrame = 1,
        max_attempts: int = 3,
        random_state: int = 0,
        payload_column: str = "text",
        label_column: str | None = "label",
        return_info: bool = False,
    ) -> None:
        self.data = data
        self.pipeline = pipeline
        self.fidelity_filter = fidelity_filter
        self.n_variants = n_variants
        self.max_attempts = max_attempts
        self.random_state = random_state
        self.payload_column = payload_column
        self.label_column = label_column
        self.return_info = return_info
        self._slots: list[tuple[int, int]] | None = None
        if fidelity_filter is not None and fidelity_filter.needs_fit:
            rows = [Source(self._row_id(i), *self._row(i)) for i in range(self._n_rows())]
            fit_filter(fidelity_filter, rows, what="rows")

    # ------------------------------------------------------------------ rows
    def _n_rows(self) -> int:
        return len(self.data)

    def _row_id(self, i: int) -> Any:
        if isinstance(self.data, pd.DataFrame):
            return self.data.index[i]
        return i

    def _row(self, i: int) -> tuple[Any, Any]:
        data = self.data
        if isinstance(data, pd.DataFrame):
            payload = data[self.payload_column].iloc[i]
            label = data[self.label_column].iloc[i] if self.label_column else None
            return payload, label
        item = data[i]
        if isinstance(item, Mapping):
            return item[self.payload_column], item.get(self.label_column)
        if isinstance(item, tuple) and len(item) == 2:
            return item
        return item, None

    @property
    def slots(self) -> list[tuple[int, int]]:
        """(row position, variant) of every augmented index, in order."""
        if self._slots is None:
            counts = plan_counts(self.n_variants)
            ids = [self._row_id(i) for i in range(self._n_rows())]
            check_plan_ids(counts, ids)  # a plan id not among the rows is an error, not a 0
            slots = []
            for i, row_id in enumerate(ids):
                n = counts if isinstance(counts, int) else counts.get(row_id, 0)
                slots += [(i, v) for v in range(n)]
            self._slots = slots
        return self._slots

    @property
    def n_originals(self) -> int:
        return self._n_rows()

    @property
    def n_augmented(self) -> int:
        return len(self.slots)

    def __len__(self) -> int:
        return self.n_originals + self.n_augmented

    def is_augmented(self, index: int) -> bool:
        return index % len(self) >= self.n_originals

    # ------------------------------------------------------------------ filtering
    def _filter(self) -> FidelityFilter:
        if self.fidelity_filter is None:
            self.fidelity_filter = resolve_filter(self.pipeline, None)
        return self.fidelity_filter

    def prepare(self) -> AugmentedDataset:
        """Encode every source once now (fills the encoder cache shared with forked workers)."""
        encoder = self._filter()._encoder()
        payloads = [self._row(i)[0] for i in range(self._n_rows())]
        problem = getattr(encoder, "validate", None)
        if problem is None:
            from fidelity.validation import text_problem as problem
        encoder.encode([p for p in payloads if problem(p) is None])
        return self

    def _seed(self, row: int, epoch: int, variant: int, attempt: int) -> int:
        return sample_seed(self.random_state, f"{self._row_id(row)}|{epoch}|{attempt}", variant)

    def __getitem__(self, index: int) -> Any:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        n = len(self)
        out: list[Any] = [None] * len(indices)
        pending: dict[int, tuple[int, int, int]] = {}  # position -> (row, variant, epoch)
        for k, index in enumerate(indices):
            index = int(index)
            if index < 0:
                raise IndexError(f"negative index {index}")
            epoch, i = divmod(index, n)
            if i < self.n_originals:
                payload, label = self._row(i)
                out[k] = self._item(payload, label, False, i, None, [])
            else:
                row, variant = self.slots[i - self.n_originals]
                pending[k] = (row, variant, epoch)
        last: dict[int, Verdict] = {}
        for attempt in range(self.max_attempts):
            if not pending:
                break
            keys = list(pending)
            requests = []
            for k in keys:
                row, variant, epoch = pending[k]
                payload, label = self._row(row)
                seed = self._seed(row, epoch, variant, attempt)
                requests.append((Source(self._row_id(row), payload, label), variant, seed))
            cands, errors = make_candidates(self.pipeline, requests)
            raise_errors(errors)
            verdicts = judge(
                self.pipeline,
                self._filter,
                [r[0].payload for r in requests],
                [c.payload for c in cands],
                labels=[c.label for c in cands],
                source_ids=[c.source_id for c in cands],
            )
            for k, c, v in zip(keys, cands, verdicts):
                if v.accepted:
                    out[k] = self._item(c.payload, c.label, True, pending[k][0], v, c.operations)
                    del pending[k]
                else:
                    last[k] = v
        for k, (row, _, _) in pending.items():  # every attempt rejected: serve the original
            payload, label = self._row(row)
            v = last[k]
            note = f"fallback to original: {self.max_attempts} attempts rejected (last: {v.reason})"
            out[k] = self._item(
                payload, label, False, row, Verdict(v.similarity, False, v.reason, note), []
            )
        return out

    def _item(
        self,
        payload: Any,
        label: Any,
        augmented: bool,
        row: int,
        verdict: Verdict | None,
        operations: Sequence[Operation],
    ) -> Any:
        if not self.return_info:
            return payload, label
        return {
            "payload": payload,
            "label": label,
            "is_augmented": augmented,
            "source_index": row,
            "similarity": verdict.similarity if verdict else 1.0,
            "reason": verdict.reason.value if verdict else "original",
            "detail": verdict.detail if verdict else "",
            "operations": [op.to_dict() for op in operations],
        }
