"""Judging structured payloads with the text filter, field by field.

``fidelity`` scores texts and knows nothing of records; :class:`FieldFilter` (on the augment
side) pairs each judged text field of a candidate record with the same field of its source (each
rewritten chat turn with its source turn), has the text filter score all pairs of a batch in one
call, and gives each record one verdict: the first field, in the source's field order, that the
filter rejected for drift, invalid text or another breach (its reason, the field named in the
detail); ``near_duplicate`` only when every judged field is one (a turn barely changed does not
make a record that changed elsewhere add nothing); else ``accepted`` with the lowest field
similarity. Fields equal to their source are not judged (they were kept, not rewritten);
a candidate with no changed field is a ``near_duplicate``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from fidelity.verdict import Reason, Verdict


def is_chat(value: Any) -> bool:
    """Whether ``value`` is a list of chat turns (mappings with ``role`` and ``content``)."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(t, Mapping) and "role" in t and "content" in t for t in value)
    )


def as_mapping(payload: Any) -> Any:
    """A record payload as a mapping: mappings as they are, objects with ``to_dict`` (a
    :class:`~augment.spans.SpanText`) by it, anything else unchanged."""
    if isinstance(payload, Mapping):
        return payload
    to_dict = getattr(payload, "to_dict", None)
    return to_dict() if callable(to_dict) else payload


def changed_texts(
    source: Any, candidate: Any, fields: Sequence[str] | None = None
) -> list[tuple[str, str, str]] | str:
    """``(field, source text, candidate text)`` of every text that differs between a record
    and its candidate (``messages[2]`` for a chat turn, ``clause.text`` for a span-annotated
    field), restricted to top-level ``fields``
    when given; or, when the candidate cannot be compared, what is wrong, in words."""
    src, cand = as_mapping(source), as_mapping(candidate)
    if isinstance(src, str) and isinstance(cand, str):
        return [("text", src, cand)] if src != cand else []
    if not isinstance(src, Mapping):
        return f"source is {type(source).__name__}, not a record"
    if not isinstance(cand, Mapping):
        return f"candidate is {type(candidate).__name__}, not a record"
    pairs: list[tuple[str, str, str]] = []
    for key, value in src.items():
        if fields is not None and key not in fields:
            continue
        if key not in cand:
            return f"candidate has lost field {key!r}"
        other = cand[key]
        if isinstance(value, str):
            if not isinstance(other, str):
                return f"candidate field {key!r} is {type(other).__name__}, not text"
            if value != other:
                pairs.append((str(key), value, other))
        elif isinstance(value, Mapping) and isinstance(value.get("text"), str):
            # a span-annotated field ({"text", "spans"}): judged by its text
            other_text = other.get("text") if isinstance(other, Mapping) else None
            if not isinstance(other_text, str):
                return f"candidate field {key!r} has no text"
            if value["text"] != other_text:
                pairs.append((f"{key}.text", value["text"], other_text))
        elif is_chat(value):
            turns, others = list(value), list(other) if is_chat(other) else None
            if others is None or len(others) != len(turns):
                return f"candidate field {key!r} does not hold the source's {len(turns)} turns"
            for i, (t, o) in enumerate(zip(turns, others)):
                if t["content"] != o["content"]:
                    pairs.append((f"{key}[{i}]", t["content"], o["content"]))
    return pairs


class FieldFilter:
    """A text filter applied field by field to record payloads (see the module docstring).

    Parameters
    ----------
    text_filter:
        The filter each text pair goes through (default: :class:`fidelity.FidelityFilter`, the
        packaged all-MiniLM-L6-v2 with the default band).
    fields:
        Top-level fields to judge (default: every text field and chat turn that changed).
    """

    def __init__(self, text_filter: Any = None, fields: Sequence[str] | None = None) -> None:
        self.text_filter = text_filter
        self.fields = None if fields is None else list(fields)

    def _inner(self) -> Any:
        if self.text_filter is None:
            from fidelity.filter import FidelityFilter

            self.text_filter = FidelityFilter()
        return self.text_filter

    @property
    def encoder(self) -> Any:
        """The text filter's encoder (what ``augment run`` reports and clears)."""
        return getattr(self._inner(), "encoder", None)

    @property
    def band(self) -> Any:
        return self._inner().band

    @property
    def needs_fit(self) -> bool:
        """Whether the text filter has a check that must learn from labelled sources first."""
        return bool(getattr(self.text_filter, "needs_fit", False))

    def fit(self, items: Sequence[Any], labels: Sequence[Any], **kwargs: Any) -> FieldFilter:
        """A label check learns from texts, not records: fit the text filter on the judged
        field's texts (``flt.text_filter.fit(texts, labels)``); this says so by name."""
        raise ValueError(
            "FieldFilter: a label check is fitted on texts; call "
            "field_filter.text_filter.fit(texts, labels, ids=...) with the judged field's texts"
        )

    def warm(self, item: Any) -> None:
        """Load the text filter's model and run it once (on a probe text: a record's fields
        are judged as texts), so that a bad model or device fails before any work is done."""
        self._inner().warm("warm-up")

    def judge(
        self,
        sources: Sequence[Any],
        candidates: Sequence[Any],
        row_names: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
        source_ids: Sequence[Any] | None = None,
    ) -> list[Verdict]:
        """One verdict per (source record, candidate record) pair, in order. ``labels`` and
        ``source_ids`` (per pair) go to the text filter's checks with each judged field (a
        field's siblings are the same field of the same source's other variants)."""
        if len(sources) != len(candidates):
            raise ValueError(f"{len(sources)} sources for {len(candidates)} candidates")
        verdicts: list[Verdict | None] = [None] * len(sources)
        pairs: list[tuple[int, str, str, str]] = []
        for i, (s, c) in enumerate(zip(sources, candidates)):
            name = f"row {i}" if row_names is None else f"row {row_names[i]!r}"
            found = changed_texts(s, c, self.fields)
            if isinstance(found, str):
                verdicts[i] = Verdict.invalid(f"{name}: {found}")
            elif not found:
                verdicts[i] = Verdict(1.0, False, Reason.NEAR_DUPLICATE, "identical to its source")
            else:
                pairs += [(i, f, a, b) for f, a, b in found]
        if pairs:
            names = [
                f"{i if row_names is None else row_names[i]} field {f}" for i, f, _, _ in pairs
            ]
            scored = self._inner().judge(
                [a for _, _, a, _ in pairs],
                [b for *_, b in pairs],
                names,
                labels=None if labels is None else [labels[i] for i, *_ in pairs],
                source_ids=None
                if source_ids is None
                else [f"{source_ids[i]}|{f}" for i, f, _, _ in pairs],
            )
            per_row: dict[int, list[tuple[str, Verdict]]] = {}
            for (i, f, _, _), v in zip(pairs, scored):
                per_row.setdefault(i, []).append((f, v))
            for i, fv in per_row.items():
                verdicts[i] = _combine(fv)
        return verdicts  # type: ignore[return-value]


def _combine(field_verdicts: list[tuple[str, Verdict]]) -> Verdict:
    """The record's verdict from its fields': the first rejection, else the lowest
    similarity, accepted; the detail names every field's similarity."""
    sims = [v.similarity for _, v in field_verdicts]
    scores = "; ".join(f"{f} {s:.3f}" for f, s in zip((f for f, _ in field_verdicts), sims))
    rejected = [(f, v) for f, v in field_verdicts if not v.accepted]
    worse = [(f, v) for f, v in rejected if v.reason is not Reason.NEAR_DUPLICATE]
    if worse or len(rejected) == len(field_verdicts):
        f, v = (worse or rejected)[0]
        detail = f"field {f}: {v.reason.value}" + (f" ({v.detail})" if v.detail else "")
        return Verdict(v.similarity, False, v.reason, f"{detail}; {scores}")
    finite = [s for s in sims if not math.isnan(s)]
    return Verdict(min(finite) if finite else math.nan, True, Reason.ACCEPTED, scores)
