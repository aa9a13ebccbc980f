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

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from augment.candidate import Candidate, Source, sample_seed
from augment.pipeline import Pipeline, check_constraint, modality_of
from augment.result import AugmentResult
from augment.targeting import plan_counts
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


def make_candidates(
    pipeline: Pipeline, requests: Iterable[Request], bar: Any = None
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Run ``pipeline`` on every request; a request whose pipeline raises becomes an error
    record (``source_id``, ``variant``, ``seed``, ``error``) and the batch goes on."""
    candidates: list[Candidate] = []
    errors: list[dict[str, Any]] = []
    for src, v, seed in requests:
        try:
            payload, ops = pipeline.apply(src.payload, seed)
        except Exception as exc:  # a failing row is recorded, the batch goes on
            errors.append(
                {
                    "source_id": src.id,
                    "variant": v,
                    "seed": seed,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            log.warning("source %r variant %d failed: %s", src.id, v, exc)
        else:
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
) -> list[Verdict]:
    """One verdict per (source payload, candidate payload) pair, in order: ``constraint`` where
    the pipeline's check finds a broken rule, else the filter's verdict. The filter runs once,
    on the pairs that passed the check, and not at all when none did (``fidelity_filter`` may be
    a function that returns it, so that a default filter is only built when it is needed)."""
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
        names = None if row_names is None else [row_names[i] for i in pending]
        flt = fidelity_filter if hasattr(fidelity_filter, "judge") else fidelity_filter()
        scored = flt.judge([sources[i] for i in pending], [candidates[i] for i in pending], names)
        for i, v in zip(pending, scored):
            verdicts[i] = v
    return verdicts  # type: ignore[return-value]


class Augmenter:
    """Makes ``n_variants`` candidates per source with ``pipeline`` and judges each with
    ``fidelity_filter`` (default: the filter of the pipeline's modality).

    ``n_variants`` may be an int (same for every row), a mapping from source id to count, or a
    plan DataFrame from :mod:`augment.targeting` (columns ``source_id``, ``n_variants``). Seeds
    are derived from ``random_state``, the source id and the variant index, so a run is
    reproducible in any process and in any order.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        fidelity_filter: FidelityFilter | None = None,
        n_variants: int | Mapping[Any, int] | pd.DataFrame = 4,
        random_state: int = 0,
        show_progress: bool | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.fidelity_filter = fidelity_filter
        self.n_variants = n_variants
        self.random_state = random_state
        self.show_progress = show_progress

    @property
    def filter(self) -> FidelityFilter:
        """The filter in use: the one given, or the modality's default (made once)."""
        if self.fidelity_filter is None:
            self.fidelity_filter = resolve_filter(self.pipeline, None)
        return self.fidelity_filter

    def generate(self, sources: Iterable[Source]) -> tuple[list[Candidate], list[dict[str, Any]]]:
        """Candidates for every source, plus one error record per variant whose pipeline failed."""
        sources = list(sources)
        counts = plan_counts(self.n_variants)
        requests = list(variant_requests(sources, counts, self.random_state))
        with progress(len(requests), "augmenting", "variant", self.show_progress) as bar:
            return make_candidates(self.pipeline, requests, bar)

    def judge(self, sources: Sequence[Source], candidates: list[Candidate]) -> list[Verdict]:
        """The verdict of every candidate (constraint checks first, then the filter), in order;
        each is also attached to its candidate."""
        by_id = {s.id: s for s in sources}
        verdicts = judge(
            self.pipeline,
            lambda: self.filter,
            [by_id[c.source_id].payload for c in candidates],
            [c.payload for c in candidates],
            [c.candidate_id for c in candidates],
        )
        for c, v in zip(candidates, verdicts):
            c.verdict = v
        return verdicts

    def run(
        self, sources: Iterable[Source] | Sequence[Any], labels: Sequence[Any] | None = None
    ) -> AugmentResult:
        """Generate and judge. ``sources`` are :class:`Source` objects or bare payloads (their
        position is then their id)."""
        srcs = as_sources(sources, labels)
        ids = [s.id for s in srcs]
        if len(set(ids)) != len(ids):
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise ValueError(f"source id {dup!r} appears more than once: ids must be unique")
        candidates, errors = self.generate(srcs)
        self.judge(srcs, candidates)
        return AugmentResult(candidates, errors, n_sources=len(srcs))


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
    "judge",
    "make_candidates",
    "raise_errors",
    "resolve_filter",
    "variant_requests",
]
