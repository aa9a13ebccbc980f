"""The fidelity filter: score (source, candidate) pairs and decide, with a reason, which to keep."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fidelity.band import Band
from fidelity.encoders.base import Encoder
from fidelity.validation import identical, text_problem
from fidelity.verdict import Reason, Verdict

log = logging.getLogger(__name__)


class FidelityFilter:
    """Keeps candidates that still mean what their source meant and that add something.

    Both texts of a pair are embedded (sources through the encoder's cache, so a source with many
    candidates is encoded once) and compared by cosine similarity. The two-sided ``band`` decides:
    below ``min_similarity`` is ``drift``, above ``max_similarity`` is ``near_duplicate``; a
    candidate identical to its source is always ``near_duplicate``. Pairs that cannot be scored
    (empty text, not a string, None/NaN) get an ``invalid`` verdict naming the row; nothing is
    dropped: the output has one verdict per input pair, in order.

    Parameters
    ----------
    encoder:
        Anything with ``encode(items) -> (n, d) normalised array`` and ``name``; default
        :class:`fidelity.TextEncoder` (all-MiniLM-L6-v2). An encoder may define
        ``validate(item) -> str | None`` (a problem in words) and ``max_tokens``/``token_lengths``
        (to report truncation).
    min_similarity, max_similarity:
        The band; see :class:`fidelity.Band`. Use :func:`fidelity.calibrate` to derive it from data.
    """

    def __init__(
        self,
        encoder: Encoder | None = None,
        min_similarity: float = 0.70,
        max_similarity: float = 0.98,
    ) -> None:
        self.encoder = encoder
        self.min_similarity = min_similarity
        self.max_similarity = max_similarity

    @classmethod
    def from_band(cls, band: Band, encoder: Encoder | None = None) -> FidelityFilter:
        return cls(encoder, band.min_similarity, band.max_similarity)

    @property
    def band(self) -> Band:
        return Band(self.min_similarity, self.max_similarity)

    def _encoder(self) -> Encoder:
        if self.encoder is None:
            from fidelity.encoders.text import TextEncoder

            self.encoder = TextEncoder()
        return self.encoder

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
    ) -> list[Verdict]:
        """One :class:`Verdict` per (source, candidate) pair, in input order.

        Details name a pair as ``row <i>`` (its position), or by ``row_names[i]`` when given
        (e.g. candidate ids or a frame's index labels)."""
        sources, candidates = _as_list(sources, "sources"), _as_list(candidates, "candidates")
        if len(sources) != len(candidates):
            raise ValueError(
                f"sources and candidates differ in length ({len(sources)} vs {len(candidates)}): "
                "pass one source per candidate (repeat a source for each of its candidates)"
            )
        if row_names is not None and len(row_names) != len(sources):
            raise ValueError(f"{len(row_names)} row names for {len(sources)} pairs")
        band = self.band
        verdicts: list[Verdict | None] = [None] * len(sources)
        to_score: list[int] = []
        for i, (s, c) in enumerate(zip(sources, candidates)):
            name = f"row {i}" if row_names is None else f"row {row_names[i]!r}"
            problem = self._problem(s)
            if problem is not None:
                verdicts[i] = Verdict.invalid(f"{name}: source {problem}")
                continue
            problem = self._problem(c)
            if problem is not None:
                verdicts[i] = Verdict.invalid(f"{name}: candidate {problem}")
                continue
            if identical(s, c):
                verdicts[i] = Verdict(1.0, False, Reason.NEAR_DUPLICATE, "identical to its source")
                continue
            to_score.append(i)
        if to_score:
            enc = self._encoder()
            src_items = [sources[i] for i in to_score]
            cand_items = [candidates[i] for i in to_score]
            notes = self._truncation_notes(enc, to_score, src_items, cand_items)
            # Sources first: with repeats, the cache turns them into one model call each.
            src_vecs = enc.encode(src_items)
            cand_vecs = enc.encode(cand_items)
            sims = np.einsum("ij,ij->i", src_vecs, cand_vecs).clip(-1.0, 1.0)
            for k, i in enumerate(to_score):
                v = band.judge(float(sims[k]))
                if i in notes:
                    v = Verdict(v.similarity, v.accepted, v.reason, _join(v.detail, notes[i]))
                verdicts[i] = v
        return verdicts  # type: ignore[return-value]

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
                notes[i] = _join(
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
        """A copy of ``df`` with columns ``similarity``, ``accepted``, ``reason``, ``detail``.

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
        return out

    def to_dict(self) -> dict[str, Any]:
        enc = self.encoder
        return {
            "min_similarity": self.min_similarity,
            "max_similarity": self.max_similarity,
            "encoder": enc.to_dict() if hasattr(enc, "to_dict") else None,
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
        return cls(encoder, d["min_similarity"], d["max_similarity"])


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


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


__all__ = ["FidelityFilter"]
