"""SpanPipeline: a text pipeline that keeps labelled spans on the characters they label.

The mapping is worked out once, for every operation alike, instead of inside each one:

1. each labelled span's text becomes a protected pattern of the text pipeline (on top of its own
   protected spans), so every word and character operation skips it, and an operation on raw
   text (back-translation, a language model) that loses or changes it is reverted, as for any
   protected span;
2. after the pipeline, each span is found again by exact search: the k-th occurrence of its text
   in the source is the k-th occurrence in the candidate (word operations keep protected spans in
   their order, and an operation that adds or drops one is caught by the protected-span check;
   a paraphrase may move a span, which is then found where it went).

A span that cannot be found (``on_broken="keep"`` let a rewrite lose it) is left out of the
candidate and listed as ``lost`` in the provenance; :meth:`SpanPipeline.check` then calls the
candidate a ``constraint`` breach. The ``span_map`` operation records, per span, its label and
its offsets in the source and in the candidate.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from augment.candidate import Operation, sample_seed
from augment.io.specs import check_header, load_spec, save_spec
from augment.spans.mentions import MentionReplacement
from augment.spans.payload import LabelledSpan, SpanError, SpanText, as_payload, parse_span_text
from augment.text.pipeline import TextPipeline
from augment.text.protected import ProtectedSpans

#: Version of the dict :meth:`SpanPipeline.to_dict` writes.
FORMAT_VERSION = 1
#: What stands in for a labelled span when the rest of a text is checked against its rules.
_GAP = " \u2063 "


def occurrences(text: str, needle: str) -> list[int]:
    """Start of every occurrence of ``needle`` in ``text``, overlapping ones included."""
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def locate(source: SpanText, text: str) -> tuple[list[LabelledSpan | None], list[int]]:
    """Where each span of ``source`` is in ``text`` (``None`` when it is not there), and the
    indices of the spans not found. A span found overlapping one found before it (in the
    candidate's order) counts as not found. Spans may come back in another order (a
    paraphrase that moves a clause)."""
    found: list[LabelledSpan | None] = []
    cache: dict[str, tuple[list[int], list[int]]] = {}
    for s in source.spans:
        t = source.text[s.start : s.end]
        if t not in cache:
            cache[t] = (occurrences(source.text, t), occurrences(text, t))
        before, after = cache[t]
        rank = before.index(s.start)
        found.append(
            LabelledSpan(after[rank], after[rank] + len(t), s.label) if rank < len(after) else None
        )
    last_end = 0
    for i in sorted(
        (i for i, f in enumerate(found) if f is not None), key=lambda i: found[i].start
    ):
        f = found[i]
        if f.start < last_end:
            found[i] = None
        else:
            last_end = f.end
    return found, [i for i, f in enumerate(found) if f is None]


def outside_spans(doc: SpanText) -> str:
    """The text with every labelled span cut out (a separator in its place): what the text
    pipeline's own protected-span rules are checked on, since spans are checked exactly."""
    pieces, pos = [], 0
    for s in doc.spans:
        pieces += [doc.text[pos : s.start], _GAP]
        pos = s.end
    pieces.append(doc.text[pos:])
    return "".join(pieces)


class SpanPipeline:
    """Makes variants of span-annotated texts whose labelled spans still label the same words.

    Parameters
    ----------
    text:
        The :class:`~augment.text.TextPipeline` run on the text (any preset or spec: EDA,
        synonyms, noise, back-translation, language models). Its own protected spans (numbers,
        negations, ...) stay protected; the labelled spans are added to them.
    mentions:
        Optional :class:`~augment.spans.MentionReplacement`, run before the text pipeline.
    name:
        A name for reports.

    Input: a :class:`SpanText` or a mapping ``{"text", "spans": [{"start", "end", "label"}]}``
    (other keys are copied); the candidate comes back in the same form. Bad spans (overlapping,
    out of range, not matching a given span text) raise :class:`SpanError` naming the field; the
    augmentation core records it as that row's error.
    """

    modality = "spans"

    def __init__(
        self,
        text: TextPipeline,
        mentions: MentionReplacement | None = None,
        name: str | None = None,
    ) -> None:
        self.text = text
        self.mentions = mentions
        self.name = name

    # ------------------------------------------------------------------ running
    def _pipeline_for(self, texts: Sequence[str]) -> TextPipeline:
        """The text pipeline with these span texts protected too (kept for the last 256 sets
        of span texts: the variants of one source share it)."""
        cache = self.__dict__.setdefault("_by_texts", OrderedDict())
        key = tuple(sorted(set(texts)))
        pipe = cache.get(key)
        if pipe is None:
            base = self.text.protected if self.text.protected is not None else ProtectedSpans()
            d = base.to_dict()
            d["patterns"] = [*d["patterns"], *(re.escape(t) for t in key)]
            pipe = TextPipeline(
                self.text.steps, ProtectedSpans.from_dict(d), self.text.name, self.text.on_broken
            )
            cache[key] = pipe
            if len(cache) > 256:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return pipe

    def apply(self, payload: Any, seed: int) -> tuple[Any, list[Operation]]:
        """One variant of ``payload`` from ``seed``: the operations applied, then ``span_map``
        (``spans``: ``[label, source start, source end, candidate start, candidate end]`` per
        span; ``lost``: ``[label, source start, source end, text]`` of any span not kept)."""
        source = parse_span_text(payload)
        doc, ops = source, []
        if self.mentions is not None:
            doc, params = self.mentions.apply(source, sample_seed(seed, "mentions", 0))
            ops.append(Operation(self.mentions.name, params))
        texts = [doc.text[s.start : s.end] for s in doc.spans]
        out, text_ops = self._pipeline_for(texts).apply(doc.text, seed)
        ops += text_ops
        found, lost = locate(doc, out)
        mapping = [
            [s.label, s.start, s.end, f.start, f.end]
            for s, f in zip(source.spans, found)
            if f is not None
        ]
        gone = [
            [source.spans[i].label, source.spans[i].start, source.spans[i].end, texts[i]]
            for i in lost
        ]
        ops.append(Operation("span_map", {"spans": mapping, "lost": gone}))
        kept = tuple(sorted((f for f in found if f is not None), key=lambda f: f.start))
        return as_payload(SpanText(out, kept), payload), ops

    def check(self, source: Any, candidate: Any) -> str | None:
        """What ``candidate`` broke, in words, or ``None``: every labelled span of the source
        must be in the candidate with its label and its exact text, in any order (or, with
        mention replacement, a mention of its label, in the same order); the text around the
        spans must keep the text pipeline's own protected spans."""
        src = parse_span_text(source)
        try:
            cand = parse_span_text(candidate)
        except SpanError as exc:
            return f"candidate {exc}"
        a, b = src.mentions(), cand.mentions()
        if Counter(a) != Counter(b):  # the same spans, in any order (a moved clause is fine)
            m = self.mentions
            same_labels = [la for la, _ in a] == [lb for lb, _ in b]
            if not (
                m is not None
                and same_labels
                and all(ta == tb or m.allows(la, tb) for (la, ta), (_, tb) in zip(a, b))
            ):
                return _span_difference(a, b)
        return self.text.check(outside_spans(src), outside_spans(cand))

    def augment(self, payload: Any, n: int = 1, seed: int = 0) -> list[Any]:
        """``n`` variants of one payload (seeds derived from ``seed``): a quick look."""
        key = parse_span_text(payload).text
        return [self.apply(payload, sample_seed(seed, key, v))[0] for v in range(n)]

    def __call__(self, payload: Any, seed: int) -> Any:
        """The variant alone: the same as :meth:`apply` with ``seed``, without provenance."""
        return self.apply(payload, seed)[0]

    # ------------------------------------------------------------------ presets, serialization
    @classmethod
    def from_preset(cls, name: str, **options: Any) -> SpanPipeline:
        """A text preset (``legal``, ``support``, ``eda``, ...) with labelled spans kept;
        ``mentions`` (a mapping label -> mentions) and ``mention_p`` add mention replacement;
        other options go to the text preset."""
        bank = options.pop("mentions", None)
        p = options.pop("mention_p", 0.3)
        mentions = None if bank is None else MentionReplacement(bank, p)
        return cls(TextPipeline.from_preset(name, **options), mentions, name=name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "SpanPipeline",
            "version": FORMAT_VERSION,
            "name": self.name,
            "text": self.text.to_dict(),
            "mentions": None if self.mentions is None else self.mentions.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpanPipeline:
        check_header(d, "SpanPipeline", FORMAT_VERSION)
        m = d.get("mentions")
        return cls(
            TextPipeline.from_dict(d["text"]),
            None if m is None else MentionReplacement.from_dict(m),
            d.get("name"),
        )

    def save(self, path: str | Path) -> Path:
        return save_spec(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> SpanPipeline:
        return cls.from_dict(load_spec(path))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpanPipeline) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"SpanPipeline(name={self.name!r}, text={self.text!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _span_difference(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> str:
    missing = list((Counter(a) - Counter(b)).elements())
    if missing:
        label, text = missing[0]
        return f"labelled span {label} {text!r} is missing from the candidate"
    added = list((Counter(b) - Counter(a)).elements())
    if added:
        label, text = added[0]
        return f"the candidate has a labelled span {label} {text!r} its source does not"
    return "labelled spans appear in a different order in the candidate"
