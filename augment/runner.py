"""The Augmenter: sources -> modality pipeline -> candidates -> fidelity filter -> result."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from augment.candidate import Candidate, sample_seed
from augment.pipeline import Pipeline
from augment.targeting import plan_counts
from fidelity.filter import FidelityFilter
from fidelity.progress import progress
from fidelity.verdict import Verdict

log = logging.getLogger(__name__)


@dataclass
class Source:
    """One input row: its id, payload (text, image, record) and label."""

    id: Any
    payload: Any
    label: Any = None


@dataclass
class AugmentResult:
    """Everything a run produced; every input row is accounted for.

    ``candidates`` holds every variant made, each with its verdict; ``errors`` holds one record
    per (source, variant) whose pipeline raised, naming the row and the cause.
    """

    candidates: list[Candidate]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_sources: int = 0

    @property
    def accepted(self) -> list[Candidate]:
        return [c for c in self.candidates if c.accepted]

    @property
    def rejected(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.accepted]

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: ids, label, payload, operations, seed, similarity, reason."""
        rows = [c.to_dict() for c in self.candidates]
        df = pd.DataFrame(rows)
        if not rows:
            return df
        df["op_chain"] = [" > ".join(op.name for op in c.operations) for c in self.candidates]
        return df

    def summary(self) -> pd.DataFrame:
        """Counts and shares per reason (plus pipeline errors)."""
        counts = pd.Series([c.verdict.reason.value for c in self.candidates], dtype="object")
        table = counts.value_counts().rename_axis("reason").reset_index(name="count")
        if self.errors:
            table.loc[len(table)] = ["error", len(self.errors)]
        total = int(table["count"].sum()) if len(table) else 0
        table["share"] = (table["count"] / max(total, 1)).round(3)
        return table

    def accept_rate_by_operation(self) -> pd.DataFrame:
        """Accept rate of each operation chain (how often what it made was kept)."""
        df = self.to_frame()
        if df.empty:
            return pd.DataFrame(columns=["op_chain", "candidates", "accepted", "accept_rate"])
        g = df.groupby("op_chain")["accepted"].agg(["count", "sum"]).reset_index()
        g.columns = ["op_chain", "candidates", "accepted"]
        g["accept_rate"] = (g["accepted"] / g["candidates"]).round(3)
        return g.sort_values("candidates", ascending=False, ignore_index=True)


class Augmenter:
    """Makes ``n_variants`` candidates per source with ``pipeline`` and judges each with
    ``fidelity_filter``.

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

    def _count(self, source_id: Any) -> int:
        counts = self._counts
        if isinstance(counts, dict):
            return counts.get(source_id, 0)
        return counts

    def generate(self, sources: Iterable[Source]) -> tuple[list[Candidate], list[dict[str, Any]]]:
        """Candidates for every source, plus one error record per variant whose pipeline failed."""
        sources = list(sources)
        self._counts = plan_counts(self.n_variants)
        candidates: list[Candidate] = []
        errors: list[dict[str, Any]] = []
        total = sum(self._count(s.id) for s in sources)
        with progress(total, "augmenting", "variant", self.show_progress) as bar:
            for src in sources:
                for v in range(self._count(src.id)):
                    seed = sample_seed(self.random_state, src.id, v)
                    try:
                        payload, ops = self.pipeline.apply(src.payload, seed)
                    except Exception as exc:  # a failing row is recorded, the job goes on
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
                    bar.update(1)
        return candidates, errors

    def judge(self, sources: Sequence[Source], candidates: list[Candidate]) -> None:
        """Attach a verdict to every candidate: constraint checks first, then the filter."""
        by_id = {s.id: s for s in sources}
        check = getattr(self.pipeline, "check", None)
        pending: list[Candidate] = []
        for c in candidates:
            broken = check(by_id[c.source_id].payload, c.payload) if check else None
            if broken:
                c.verdict = Verdict.constraint(broken)
            else:
                pending.append(c)
        if not pending:
            return
        flt = self.fidelity_filter
        if flt is None:  # the default for the pipeline's modality, made once
            if getattr(self, "_default_filter", None) is None:
                self._default_filter = default_filter(getattr(self.pipeline, "modality", "text"))
            flt = self._default_filter
        verdicts = flt.judge(
            [by_id[c.source_id].payload for c in pending],
            [c.payload for c in pending],
            [c.candidate_id for c in pending],
        )
        for c, v in zip(pending, verdicts):
            c.verdict = v

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


def default_filter(modality: str) -> FidelityFilter:
    """The filter an Augmenter uses when given none: sentence embeddings with the default band
    for text, EfficientNet-Lite0 with its measured band for images."""
    if modality == "image":
        from fidelity.encoders.image import RECOMMENDED_BAND, ImageEncoder

        return FidelityFilter.from_band(RECOMMENDED_BAND, ImageEncoder())
    return FidelityFilter()


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
