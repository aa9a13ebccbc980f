"""The span-annotated text payload: a text and labelled character spans, as clause- and
entity-extraction data holds them (``{"text": ..., "spans": [{"start", "end", "label"}]}``).

Spans are checked on the way in: each in range, non-empty, not overlapping another, and, when
the row also gives the span's ``text``, matching the characters it points at. A bad span raises
:class:`SpanError` naming the field and the span; readers turn it into an error record naming
the row too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SpanError(ValueError):
    """A span-annotated payload that cannot be used; ``field`` names the part (``text``,
    ``spans`` or ``spans[i]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


@dataclass(frozen=True)
class LabelledSpan:
    """Characters ``start .. end-1`` of a text, labelled ``label`` (``PARTY``, ``DATE``...)."""

    start: int
    end: int
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True)
class SpanText:
    """A text and its labelled spans, sorted by start, none overlapping."""

    text: str
    spans: tuple[LabelledSpan, ...] = ()

    def span_text(self, i: int) -> str:
        """The characters span ``i`` points at."""
        s = self.spans[i]
        return self.text[s.start : s.end]

    def mentions(self) -> list[tuple[str, str]]:
        """``(label, text)`` of every span, in order."""
        return [(s.label, self.text[s.start : s.end]) for s in self.spans]

    def to_dict(self) -> dict[str, Any]:
        """The JSONL row form (the span's text is not repeated: offsets say it)."""
        return {"text": self.text, "spans": [s.to_dict() for s in self.spans]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SpanText:
        """Read and check the row form; :class:`SpanError` names what is wrong."""
        return parse_span_text(d)


def _int(value: Any, field: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SpanError(field, f"{key} is {value!r}, not an integer offset")
    return int(value)


def parse_span_text(payload: Any) -> SpanText:
    """A checked :class:`SpanText` from a ``SpanText`` or a mapping ``{"text", "spans"}``.

    Refused, naming the field and the span: a missing or non-string ``text``; ``spans`` that is
    not a list; a span without ``start``/``end``/``label``, with offsets out of the text's range
    or ``end <= start``; a span whose given ``text`` is not the text at its offsets; spans that
    overlap (the second one is named).
    """
    if isinstance(payload, SpanText):
        text, raw = payload.text, [s.to_dict() for s in payload.spans]
    elif isinstance(payload, Mapping):
        if "text" not in payload:
            raise SpanError("text", f"missing (keys: {sorted(map(str, payload))})")
        text, raw = payload["text"], payload.get("spans", [])
    else:
        raise SpanError("text", f"payload is {type(payload).__name__}, not a mapping or SpanText")
    if not isinstance(text, str):
        raise SpanError("text", f"is {type(text).__name__}, not a string")
    if raw is None:
        raw = []
    if hasattr(raw, "tolist"):  # a numpy array of dicts, as Parquet reads a list column
        raw = raw.tolist()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise SpanError("spans", f"is {type(raw).__name__}, not a list of spans")
    spans = []
    for i, s in enumerate(raw):
        field = f"spans[{i}]"
        if not isinstance(s, Mapping):
            raise SpanError(field, f"is {type(s).__name__}, not a mapping")
        missing = [k for k in ("start", "end", "label") if k not in s]
        if missing:
            raise SpanError(field, f"has no {', '.join(missing)}")
        start, end = _int(s["start"], field, "start"), _int(s["end"], field, "end")
        label = s["label"]
        if not isinstance(label, str) or not label:
            raise SpanError(field, f"label is {label!r}, not a non-empty string")
        if not 0 <= start < end <= len(text):
            raise SpanError(
                field,
                f"{label} [{start}, {end}) is out of range for a text of {len(text)} characters"
                if end > len(text) or start < 0
                else f"{label} [{start}, {end}) is empty or reversed",
            )
        given = s.get("text")
        if given is not None and given != text[start:end]:
            raise SpanError(
                field,
                f"{label} [{start}, {end}) says {given!r} but the text there is "
                f"{text[start:end]!r}",
            )
        spans.append((start, end, label, i))
    spans.sort()
    for (s0, e0, l0, i0), (s1, e1, l1, i1) in zip(spans, spans[1:]):
        if s1 < e0:
            raise SpanError(
                f"spans[{i1}]",
                f"{l1} [{s1}, {e1}) overlaps spans[{i0}] {l0} [{s0}, {e0})",
            )
    return SpanText(text, tuple(LabelledSpan(s, e, lab) for s, e, lab, _ in spans))


def as_payload(span_text: SpanText, like: Any) -> Any:
    """``span_text`` in the form of ``like``: a ``SpanText`` stays one, a mapping becomes the
    row form with the mapping's other keys kept."""
    if isinstance(like, SpanText):
        return span_text
    out = dict(like) if isinstance(like, Mapping) else {}
    out.update(span_text.to_dict())
    return out
