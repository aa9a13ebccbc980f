"""The fidelity filter: score (source, candidate) pairs and decide, with a reason, which to keep."""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fidelity.band import Band
from fidelity.checks.base import (
    Check,
    Embeddings,
    PairBatch,
    PairData,
    item_key,
    join,
    make_check,
)
from fidelity.encoders.base import Encoder
from fidelity.selection import Selection, top_per_label
from fidelity.validation import identical, text_problem
from fidelity.verdict import Reason, Verdict

log = logging.getLogger(__name__)


#: The checks a filter runs when given none: the similarity band alone (as before checks existed).
DEFAULT_CHECKS: tuple[str, ...] = ("band",)
#: A recommended order when labels and an LM are at hand: cheap checks first, and siblings last,
#: so that a candidate is compared only with siblings that passed every other check.
FULL_CHECKS: tuple[str, ...] = ("band", "label", "fluency", "siblings")


class FidelityFilter:
    """Keeps candidates that still mean what their source meant, keep its label, read as fluent
    text, and add something.

    Pairs that cannot be scored (empty text, not a string, None/NaN) get an ``invalid`` verdict
    naming the row, and a candidate identical to its source is always ``near_duplicate``; the
    other pairs go through ``checks`` in order, each check seeing only the pairs no earlier
    check rejected (batched, like TextAttack's ``Constraint.call_many``). The verdict keeps every
    score computed for the pair and the first reason that rejected it. Nothing is dropped: the
    output has one verdict per input pair, in order.

    By default the only check is the two-sided similarity ``band``: both items of a pair are
    embedded (sources first, through the encoder's cache, so a source with many candidates is
    encoded once) and compared by cosine similarity; below ``min_similarity`` is ``drift``,
    above ``max_similarity`` is ``near_duplicate``.

    Parameters
    ----------
    encoder:
        Anything with ``encode(items) -> (n, d) normalised array`` and ``name``; default
        :class:`fidelity.TextEncoder` (all-MiniLM-L6-v2). An encoder may define
        ``validate(item) -> str | None`` (a problem in words) and ``max_tokens``/``token_lengths``
        (to report truncation).
    min_similarity, max_similarity:
        The band; see :class:`fidelity.Band`. Use :func:`fidelity.calibrate` to derive it from data.
    checks:
        The checks, in order: :class:`fidelity.checks.Check` instances, registered names
        (``"band"``, ``"siblings"``, ``"label"``, ``"fluency"``) or ``{"name": ..., **params}``
        mappings. Default :data:`DEFAULT_CHECKS`. A label check must be fitted: :meth:`fit`.
    """

    def __init__(
        self,
        encoder: Encoder | None = None,
        min_similarity: float = 0.70,
        max_similarity: float = 0.98,
        checks: Sequence[Check | str | dict[str, Any]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.min_similarity = min_similarity
        self.max_similarity = max_similarity
        self.checks: list[Check] = [
            make_check(c) for c in (DEFAULT_CHECKS if checks is None else checks)
        ]

    @classmethod
    def from_band(
        cls,
        band: Band,
        encoder: Encoder | None = None,
        checks: Sequence[Check | str | dict[str, Any]] | None = None,
    ) -> FidelityFilter:
        return cls(encoder, band.min_similarity, band.max_similarity, checks)

    @property
    def band(self) -> Band:
        return Band(self.min_similarity, self.max_similarity)

    def check(self, name: str) -> Check:
        """The first check of that name (``flt.check("label")``)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r} (checks: {[c.name for c in self.checks]})")

    def _encoder(self) -> Encoder:
        if self.encoder is None:
            from fidelity.encoders.text import TextEncoder

            self.encoder = TextEncoder()
        return self.encoder

    @property
    def needs_fit(self) -> bool:
        """True when a check still has to be fitted on labelled sources (call :meth:`fit`)."""
        return any(c.needs_fit for c in self.checks)

    def fit(
        self,
        items: Sequence[Any] | pd.DataFrame,
        labels: Sequence[Any],
        ids: Sequence[Hashable] | None = None,
        groups: Sequence[Any] | None = None,
    ) -> FidelityFilter:
        """Fit the checks that learn from labelled sources (the label check) on ``items`` with
        ``labels``, using this filter's encoder. ``ids`` are the source ids that ``judge(...,
        source_ids=...)`` will pass (default: the items themselves); ``groups`` keep related rows
        in one cross-fitting fold."""
        for c in self.checks:
            c.fit(items, labels, ids=ids, groups=groups, encoder=self._encoder())
        return self

    def warm(self, item: Any) -> None:
        """Load the encoder and run it once on ``item`` (a job's first row), so that a model
        that cannot be loaded or a device that is not there fails before any work is done."""
        self._encoder().encode([item])

    # ------------------------------------------------------------------ scoring
    def _problem(self, item: Any) -> str | None:
        validate = getattr(self._encoder(), "validate", None)
        return validate(item) if validate is not None else text_problem(item)

    def score(self, sources: Sequence[Any], candidates: Sequence[Any]) -> np.ndarray:
        """Cosine similarity per pair; NaN where a pair cannot be scored."""
        return np.array([v.similarity for v in self.judge(sources, candidates)], dtype=np.float64)

    def judge(
        self,
        sources: Sequence[Any],
        candidates: Sequence[Any],
        row_names: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
        source_ids: Sequence[Hashable] | None = None,
    ) -> list[Verdict]:
        """One :class:`Verdict` per (source, candidate) pair, in input order.

        Details name a pair as ``row <i>`` (its position), or by ``row_names[i]`` when given
        (e.g. candidate ids or a frame's index labels). ``labels[i]`` is the label of pair
        ``i``'s source and ``source_ids[i]`` its id (used by the label check to find the fold
        that never saw the source, and by the sibling check to group variants of one source;
        default: the source item itself)."""
        sources, candidates = _as_list(sources, "sources"), _as_list(candidates, "candidates")
        n = len(sources)
        if len(candidates) != n:
            raise ValueError(
                f"sources and candidates differ in length ({n} vs {len(candidates)}): "
                "pass one source per candidate (repeat a source for each of its candidates)"
            )
        for what, seq in (("row names", row_names), ("labels", labels), ("source ids", source_ids)):
            if seq is not None and len(seq) != n:
                raise ValueError(f"{len(seq)} {what} for {n} pairs")
        names = [f"row {i}" if row_names is None else f"row {row_names[i]!r}" for i in range(n)]
        verdicts: list[Verdict | None] = [None] * n
        to_score: list[int] = []
        for i, (s, c) in enumerate(zip(sources, candidates)):
            problem = self._problem(s)
            if problem is not None:
                verdicts[i] = Verdict.invalid(f"{names[i]}: source {problem}")
                continue
            problem = self._problem(c)
            if problem is not None:
                verdicts[i] = Verdict.invalid(f"{names[i]}: candidate {problem}")
                continue
            if identical(s, c):
                verdicts[i] = Verdict(
                    1.0,
                    False,
                    Reason.NEAR_DUPLICATE,
                    "identical to its source",
                    {"similarity": 1.0},
                )
                continue
            to_score.append(i)
        if not to_score:
            return verdicts  # type: ignore[return-value]
        ids = list(source_ids) if source_ids is not None else [item_key(s) for s in sources]
        data = PairData(sources, candidates, names, None if labels is None else list(labels), ids)
        rows = np.asarray(to_score, dtype=np.int64)
        emb = Embeddings(self._encoder, rows, data)
        scores: dict[int, dict[str, Any]] = {i: {} for i in to_score}
        notes: dict[int, str] = {}
        rejected: dict[int, tuple[Reason, str]] = {}
        band = self.band
        if self._needs_embeddings():
            enc = self._encoder()
            notes = self._truncation_notes(
                enc, to_score, [sources[i] for i in to_score], [candidates[i] for i in to_score]
            )
        undecided = rows
        for chk in self.checks:
            if len(undecided) == 0:
                break
            outcomes = chk(PairBatch(undecided, data, emb, band))
            keep = []
            for i, o in zip(undecided.tolist(), outcomes):
                scores[i].update(o.scores)
                if o.rejected:
                    rejected[i] = (o.reason, o.detail)  # type: ignore[assignment]
                else:
                    keep.append(i)
                    if o.detail:
                        notes[i] = join(notes.get(i, ""), o.detail)
            undecided = np.asarray(keep, dtype=np.int64)
        for i in to_score:
            sim = scores[i].get("similarity", emb.similarity_of(i))
            if not math.isnan(sim):
                scores[i]["similarity"] = sim
            if i in rejected:
                reason, detail = rejected[i]
                verdicts[i] = Verdict(sim, False, reason, join(detail, notes.get(i, "")), scores[i])
            else:
                verdicts[i] = Verdict(sim, True, Reason.ACCEPTED, notes.get(i, ""), scores[i])
        return verdicts  # type: ignore[return-value]

    def select_top(
        self,
        sources: Sequence[Any],
        candidates: Sequence[Any],
        n: int,
        labels: Sequence[Any] | None = None,
        source_ids: Sequence[Hashable] | None = None,
        row_names: Sequence[Any] | None = None,
    ) -> Selection:
        """Judge the pairs, then keep the top ``n`` accepted candidates per label by label
        probability (LAMBADA's rule; see :func:`fidelity.selection.top_per_label`). Labels
        default to the label check's fitted labels of the sources."""
        verdicts = self.judge(sources, candidates, row_names, labels, source_ids)
        if labels is None:
            chk = self.check("label")
            ids = source_ids if source_ids is not None else [item_key(s) for s in sources]
            labels = chk.labels_for(ids, list(sources))  # type: ignore[attr-defined]
        return top_per_label(verdicts, list(labels), n)

    def _needs_embeddings(self) -> bool:
        return any(getattr(c, "uses_embeddings", True) for c in self.checks)

    def _truncation_notes(
        self, enc: Any, rows: list[int], srcs: list[Any], cands: list[Any]
    ) -> dict[int, str]:
        """Rows whose texts exceed the model window: scored on the truncated text, and said so."""
        max_tokens = getattr(enc, "max_tokens", None)
        lengths = getattr(enc, "token_lengths", None)
        if max_tokens is None or lengths is None:
            return {}
        notes: dict[int, str] = {}
        for which, items in (("source", srcs), ("candidate", cands)):
            distinct = list(dict.fromkeys(items))  # a source repeats once per candidate
            by_text = dict(zip(distinct, lengths(distinct)))
            n_tok = np.array([by_text[x] for x in items])
            for k in np.flatnonzero(n_tok > max_tokens):
                i = rows[k]
                notes[i] = join(
                    notes.get(i, ""),
                    f"{which} truncated to the model window ({n_tok[k]} > {max_tokens} tokens)",
                )
        if notes:
            shown = ", ".join(str(i) for i in sorted(notes)[:10])
            log.warning(
                "%d pair(s) exceed the model window of %d tokens and were scored on their first "
                "%d tokens (rows %s%s)",
                len(notes),
                max_tokens,
                max_tokens,
                shown,
                ", ..." if len(notes) > 10 else "",
            )
        return notes

    # ------------------------------------------------------------------ pandas
    def filter_frame(
        self, df: pd.DataFrame, source: str = "source", candidate: str = "candidate"
    ) -> pd.DataFrame:
        """A copy of ``df`` with columns ``similarity``, ``accepted``, ``reason``, ``detail``,
        and one column per other score a check computed (``label_probability``, ...).

        Every row stays: select ``df[df.accepted]`` for the kept ones. None/NaN cells are
        ``invalid``.
        """
        for col in (source, candidate):
            if col not in df.columns:
                raise KeyError(f"column {col!r} not in the frame (columns: {list(df.columns)})")
        names = None if isinstance(df.index, pd.RangeIndex) else list(df.index)
        verdicts = self.judge(df[source].tolist(), df[candidate].tolist(), names)
        out = df.copy()
        out["similarity"] = [v.similarity for v in verdicts]
        out["accepted"] = [v.accepted for v in verdicts]
        out["reason"] = [v.reason.value for v in verdicts]
        out["detail"] = [v.detail for v in verdicts]
        extra = sorted({k for v in verdicts for k in v.scores} - {"similarity"} - set(out.columns))
        for k in extra:
            out[k] = [v.scores.get(k) for v in verdicts]
        return out

    def to_dict(self) -> dict[str, Any]:
        enc = self.encoder
        return {
            "min_similarity": self.min_similarity,
            "max_similarity": self.max_similarity,
            "encoder": enc.to_dict() if hasattr(enc, "to_dict") else None,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FidelityFilter:
        enc = d.get("encoder")
        encoder = None
        if enc:
            enc = dict(enc)
            kind = enc.pop("type", "text")
            if kind not in ENCODERS:
                known = ", ".join(repr(k) for k in ENCODERS)
                raise ValueError(f"unknown encoder type {kind!r} (known: {known})")
            encoder = ENCODERS[kind](enc)
        return cls(encoder, d["min_similarity"], d["max_similarity"], d.get("checks"))


def _text_encoder(d: dict[str, Any]) -> Encoder:
    from fidelity.encoders.text import TextEncoder

    return TextEncoder(**d)


def _tabular_encoder(d: dict[str, Any]) -> Encoder:
    from fidelity.encoders.tabular import TabularEncoder

    return TabularEncoder.from_dict(d)


def _image_encoder(d: dict[str, Any]) -> Encoder:
    from fidelity.encoders.image import ImageEncoder

    return ImageEncoder(**d)


#: Encoder ``type`` (as its ``to_dict`` writes it) -> how :meth:`FidelityFilter.from_dict` builds
#: one from the rest of its dict.
ENCODERS: dict[str, Any] = {
    "text": _text_encoder,
    "tabular": _tabular_encoder,
    "image": _image_encoder,
}


def _as_list(x: Sequence[Any], name: str) -> list[Any]:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of items, not a single {type(x).__name__}")
    if isinstance(x, pd.Series):
        return x.tolist()
    return list(x)


__all__ = ["FidelityFilter"]
