"""The one augmentation core: make candidates for a batch, then judge them.

Two building blocks, and the :class:`Augmenter` made of them:

* :func:`make_candidates` runs a pipeline on a batch of (source, variant, seed) requests and
  returns the candidates, plus one error record per request whose pipeline raised (the row and
  the cause);
* :func:`judge` gives every (source, candidate) pair a verdict: the pipeline's own constraint
  check first (``constraint``), then the fidelity filter, the one given or the modality's
  default (:attr:`augment.pipeline.Modality.default_filter`).

``AugmentedDataset``, ``augment_batch``, the shards of ``augment run`` and every benchmark call
these two; none keeps a loop of its own.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from augment.candidate import Candidate, Source, sample_seed
from augment.pipeline import Pipeline, apply_or_error, check_constraint, modality_of
from augment.result import AugmentResult
from augment.targeting import check_plan_ids, plan_counts
from fidelity.checks.siblings import SiblingCheck
from fidelity.filter import FidelityFilter
from fidelity.progress import progress
from fidelity.verdict import Verdict

log = logging.getLogger(__name__)

#: One request to the pipeline: the source, the variant index and the seed to make it from.
Request = tuple[Source, int, int]


def variant_requests(
    sources: Iterable[Source], counts: int | Mapping[Any, int], random_state: int
) -> Iterator[Request]:
    """``(source, variant, seed)`` for every variant of every source: ``counts`` per source (an
    int, or a mapping from source id to count; ids not in it get none), seeded by
    :func:`~augment.candidate.sample_seed` ``(random_state, source id, variant)``."""
    for src in sources:
        n = counts if isinstance(counts, int) else counts.get(src.id, 0)
        for v in range(n):
            yield src, v, sample_seed(random_state, src.id, v)


#: Requests handed to a pipeline's ``apply_batch`` at once (a language model generates them
#: together).
BATCH_SIZE = 16


def make_candidates(
    pipeline: Pipeline, requests: Iterable[Request], bar: Any = None, batch_size: int = BATCH_SIZE
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Run ``pipeline`` on every request; a request whose pipeline raises becomes an error
    record (``source_id``, ``label``, ``variant``, ``seed``, ``error``) and the batch goes on.

    A pipeline with ``apply_batch`` (text pipelines) gets ``batch_size`` requests at a time and
    gives the same candidates as one call each; others are applied one request at a time."""
    candidates: list[Candidate] = []
    errors: list[dict[str, Any]] = []
    batched = getattr(pipeline, "apply_batch", None)
    it = iter(requests)
    while chunk := list(itertools.islice(it, max(int(batch_size), 1) if batched else 1)):
        if batched is not None:
            results = batched([src.payload for src, _, _ in chunk], [s for _, _, s in chunk])
        else:
            results = [apply_or_error(pipeline, chunk[0][0].payload, chunk[0][2])]
        for (src, v, seed), res in zip(chunk, results):
            if isinstance(res, Exception):  # a failing row is recorded, the batch goes on
                errors.append(
                    {
                        "source_id": src.id,
                        "label": src.label,
                        "variant": v,
                        "seed": seed,
                        "error": f"{type(res).__name__}: {res}",
                    }
                )
                log.warning("source %r variant %d failed: %s", src.id, v, res)
            else:
                payload, ops = res
                candidates.append(Candidate(src.id, v, payload, src.label, ops, seed))
            if bar is not None:
                bar.update(1)
    return candidates, errors


def raise_errors(errors: Sequence[dict[str, Any]]) -> None:
    """Raise the first error record (for callers that cannot hand errors back, such as a
    training loop): a ``ValueError`` naming the row, the variant and the cause."""
    if errors:
        e = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValueError(
            f"pipeline failed on row {e['source_id']!r} variant {e['variant']}: {e['error']}{more}"
        )


def resolve_filter(pipeline: Any, fidelity_filter: FidelityFilter | None) -> FidelityFilter:
    """``fidelity_filter``, or the default filter of ``pipeline``'s modality."""
    if fidelity_filter is not None:
        return fidelity_filter
    modality = modality_of(pipeline)
    if modality.default_filter is None:
        raise TypeError(f"the {modality.name} modality has no default filter: pass one")
    return modality.default_filter()


def judge(
    pipeline: Any,
    fidelity_filter: FidelityFilter | Callable[[], FidelityFilter],
    sources: Sequence[Any],
    candidates: Sequence[Any],
    row_names: Sequence[Any] | None = None,
    labels: Sequence[Any] | None = None,
    source_ids: Sequence[Any] | None = None,
) -> list[Verdict]:
    """One verdict per (source payload, candidate payload) pair, in order: ``constraint`` where
    the pipeline's check finds a broken rule, else the filter's verdict. The filter runs once,
    on the pairs that passed the check, and not at all when none did (``fidelity_filter`` may be
    a function that returns it, so that a default filter is only built when it is needed).
    ``labels`` and ``source_ids`` (one per pair: the source's label and id) go to the filter's
    checks: the label check judges by them, the sibling check groups variants by source id."""
    if len(sources) != len(candidates):
        raise ValueError(f"{len(sources)} sources for {len(candidates)} candidates")
    verdicts: list[Verdict | None] = [None] * len(candidates)
    pending: list[int] = []
    for i, (s, c) in enumerate(zip(sources, candidates)):
        broken = check_constraint(pipeline, s, c)
        if broken:
            verdicts[i] = Verdict.constraint(broken)
        else:
            pending.append(i)
    if pending:

        def part(seq: Sequence[Any] | None) -> list[Any] | None:
            return None if seq is None else [seq[i] for i in pending]

        for what, seq in (("labels", labels), ("source ids", source_ids)):
            if seq is not None and len(seq) != len(candidates):
                raise ValueError(f"{len(seq)} {what} for {len(candidates)} candidates")
        flt = fidelity_filter if hasattr(fidelity_filter, "judge") else fidelity_filter()
        scored = flt.judge(
            part(sources),
            part(candidates),
            part(row_names),
            labels=part(labels),
            source_ids=part(source_ids),
        )
        for i, v in zip(pending, scored):
            verdicts[i] = v
    return verdicts  # type: ignore[return-value]


def _missing(label: Any) -> bool:
    return label is None or (isinstance(label, float) and math.isnan(label))


def fit_filter(
    flt: FidelityFilter, sources: Sequence[Source], what: str = "sources", force: bool = False
) -> bool:
    """Fit ``flt``'s checks that learn from labelled sources (the label check) on ``sources``
    (payloads, labels, ids) when :attr:`~fidelity.FidelityFilter.needs_fit` (or ``force``);
    returns whether it fitted. A source without a label is a ``ValueError`` naming it and
    saying what to do."""
    if not (force or getattr(flt, "needs_fit", False)):
        return False
    missing = [s.id for s in sources if _missing(s.label)]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ValueError(
            f"the filter's label check must be fitted on labelled {what}, but {what[:-1]} "
            f"{missing[0]!r}{more} has no label: give every source a label, or fit the filter "
            "yourself first (flt.fit(items, labels, ids=...))"
        )
    flt.fit([s.payload for s in sources], [s.label for s in sources], ids=[s.id for s in sources])
    return True


@contextmanager
def remembering_siblings(flt: FidelityFilter) -> Iterator[bool]:
    """While open, the filter's sibling checks keep the accepted siblings across ``judge`` calls
    (``remember=True``), so that candidates drawn later cannot repeat an accepted one; they
    forget them (and get their own setting back) on exit. Yields whether the filter has one."""
    checks = [c for c in getattr(flt, "checks", []) if isinstance(c, SiblingCheck)]
    before = [c.remember for c in checks]
    for c in checks:
        c.remember = True
        c.reset()
    try:
        yield bool(checks)
    finally:
        for c, r in zip(checks, before):
            c.remember = r
            c.reset()


class Augmenter:
    """Makes ``n_variants`` candidates per source with ``pipeline`` and judges each with
    ``fidelity_filter`` (default: the filter of the pipeline's modality).

    ``n_variants`` may be an int (same for every row), a mapping from source id to count, or a
    plan DataFrame from :mod:`augment.targeting` (columns ``source_id``, ``n_variants``). Seeds
    are derived from ``random_state``, the source id and the variant index, so a run is
    reproducible in any process and in any order.

    A filter with a label check that is not fitted yet is fitted once, at the start of
    :meth:`run`, on that run's sources (payloads, labels, ids); every pair is judged with its
    source's label and id.

    ``top_up=True`` keeps the class balance the plan asked for: the plan's count per label
    (the sum of its sources' counts) is a target of accepted variants. Where the filter left a
    label short, more candidates are drawn for that label's sources (round robin, new variant
    indices, so new seeds: a rerun draws the same ones) and judged, until the label has its
    planned count or every source of it has had ``max_attempts`` draws per planned variant.
    The filter's sibling checks remember accepted variants while a run lasts, so a later draw
    cannot repeat one. Every candidate made stays in the result, accepted or rejected;
    :meth:`AugmentResult.acceptance_by_label` shows the plan, the accepted count and the
    shortfall per label.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        fidelity_filter: FidelityFilter | None = None,
        n_variants: int | Mapping[Any, int] | pd.DataFrame = 4,
        random_state: int = 0,
        show_progress: bool | None = None,
        top_up: bool = False,
        max_attempts: int = 3,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.pipeline = pipeline
        self.fidelity_filter = fidelity_filter
        self.n_variants = n_variants
        self.random_state = random_state
        self.show_progress = show_progress
        self.top_up = top_up
        self.max_attempts = max_attempts

    @property
    def filter(self) -> FidelityFilter:
        """The filter in use: the one given, or the modality's default (made once)."""
        if self.fidelity_filter is None:
            self.fidelity_filter = resolve_filter(self.pipeline, None)
        return self.fidelity_filter

    def _counts(self, sources: Sequence[Source], n_variants: Any = None) -> dict[Any, int]:
        """The plan's count for every source (``n_variants``, default the Augmenter's)."""
        counts = plan_counts(self.n_variants if n_variants is None else n_variants)
        if isinstance(counts, int):
            return {s.id: counts for s in sources}
        return {s.id: int(counts.get(s.id, 0)) for s in sources}

    def generate(
        self,
        sources: Iterable[Source],
        n_variants: int | Mapping[Any, int] | pd.DataFrame | None = None,
    ) -> tuple[list[Candidate], list[dict[str, Any]]]:
        """Candidates for every source, plus one error record per variant whose pipeline failed.

        ``n_variants`` (default: the Augmenter's) is checked first: a count that is negative,
        boolean or fractional, or a plan naming an id that is not among ``sources``, is a
        ``ValueError`` naming it (the plan would otherwise silently make nothing for it)."""
        sources = list(sources)
        counts = plan_counts(self.n_variants if n_variants is None else n_variants)
        check_plan_ids(counts, (s.id for s in sources))
        requests = list(variant_requests(sources, counts, self.random_state))
        with progress(len(requests), "augmenting", "variant", self.show_progress) as bar:
            return make_candidates(self.pipeline, requests, bar)

    def judge(self, sources: Sequence[Source], candidates: list[Candidate]) -> list[Verdict]:
        """The verdict of every candidate (constraint checks first, then the filter, given each
        pair's label and source id), in order; each is also attached to its candidate."""
        by_id = {s.id: s for s in sources}
        verdicts = judge(
            self.pipeline,
            lambda: self.filter,
            [by_id[c.source_id].payload for c in candidates],
            [c.payload for c in candidates],
            [c.candidate_id for c in candidates],
            labels=[c.label for c in candidates],
            source_ids=[c.source_id for c in candidates],
        )
        for c, v in zip(candidates, verdicts):
            c.verdict = v
        return verdicts

    def run(
        self,
        sources: Iterable[Source] | Sequence[Any],
        labels: Sequence[Any] | None = None,
        n_variants: int | Mapping[Any, int] | pd.DataFrame | None = None,
    ) -> AugmentResult:
        """Generate and judge (and top up, with ``top_up=True``). ``sources`` are
        :class:`Source` objects or bare payloads (their position is then their id);
        ``n_variants`` overrides the Augmenter's for this call (a job passes each shard the
        part of its plan for that shard's rows)."""
        srcs = as_sources(sources, labels)
        ids = [s.id for s in srcs]
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise ValueError(f"source id {dup!r} appears more than once: ids must be unique")
        if self.fidelity_filter is not None:  # a modality's default filter learns nothing
            fit_filter(self.fidelity_filter, srcs)
        counts = self._counts(srcs, n_variants)
        planned: dict[Any, int] = {}
        for s in srcs:
            planned[s.label] = planned.get(s.label, 0) + counts[s.id]
        candidates, errors = self.generate(srcs, n_variants)
        if not self.top_up:
            self.judge(srcs, candidates)
            return AugmentResult(candidates, errors, len(srcs), planned, planned_by_source=counts)
        with remembering_siblings(self.filter) as has_siblings:
            if not has_siblings:
                log.warning(
                    "top_up without a 'siblings' check: a later draw may repeat an accepted "
                    "variant; add 'siblings' to the filter's checks"
                )
            self.judge(srcs, candidates)
            self._top_up(srcs, counts, planned, candidates, errors)
        return AugmentResult(candidates, errors, len(srcs), planned, True, counts)

    def _top_up(
        self,
        sources: Sequence[Source],
        counts: Mapping[Any, int],
        planned: Mapping[Any, int],
        candidates: list[Candidate],
        errors: list[dict[str, Any]],
    ) -> None:
        """Draw and judge more candidates for the labels below their planned count (adds them to
        ``candidates`` and ``errors``), round by round, until each has its count or its sources
        have had ``max_attempts`` draws per planned variant."""
        accepted: dict[Any, int] = {}
        for c in candidates:
            accepted[c.label] = accepted.get(c.label, 0) + int(c.accepted)
        groups: dict[Any, list[Source]] = {}
        for s in sources:
            if counts[s.id] > 0:
                groups.setdefault(s.label, []).append(s)
        drawn = dict(counts)  # next variant index per source
        cursor = dict.fromkeys(groups, 0)
        while True:
            requests: list[Request] = []
            for label, group in groups.items():
                short = planned[label] - accepted.get(label, 0)
                idle = 0  # sources passed over in a row because they are out of attempts
                while short > 0 and idle < len(group):
                    s = group[cursor[label] % len(group)]
                    cursor[label] += 1
                    if drawn[s.id] >= self.max_attempts * counts[s.id]:
                        idle += 1
                        continue
                    idle = 0
                    v = drawn[s.id]
                    drawn[s.id] += 1
                    requests.append((s, v, sample_seed(self.random_state, s.id, v)))
                    short -= 1
            if not requests:
                return
            made, failed = make_candidates(self.pipeline, requests)
            self.judge(sources, made)
            for c in made:
                accepted[c.label] = accepted.get(c.label, 0) + int(c.accepted)
            candidates += made
            errors += failed


def as_sources(items: Iterable[Any], labels: Sequence[Any] | None = None) -> list[Source]:
    """Wrap bare payloads as :class:`Source` (id = position); pass Sources through."""
    items = list(items)
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"{len(labels)} labels for {len(items)} sources")
    out = []
    for i, it in enumerate(items):
        if isinstance(it, Source):
            out.append(it)
        else:
            out.append(Source(i, it, None if labels is None else labels[i]))
    return out


__all__ = [
    "AugmentResult",
    "Augmenter",
    "Source",
    "as_sources",
    "fit_filter",
    "judge",
    "make_candidates",
    "raise_errors",
    "remembering_siblings",
    "resolve_filter",
    "variant_requests",
]
