"""Mention replacement (Dai & Adel 2020, "An Analysis of Simple Data Augmentation for Named
Entity Recognition"): a labelled span is swapped for another mention of the same label taken
from the data, and the offsets after it move by the change in length."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from augment.spans.payload import LabelledSpan, SpanText, parse_span_text


class MentionReplacement:
    """Swap each span, with probability ``p``, for another mention of its label.

    Parameters
    ----------
    mentions:
        Label -> the mentions to draw from (e.g. every PARTY string of the training set); see
        :meth:`from_rows`.
    p:
        Chance that one span is replaced.
    labels:
        Only these labels are replaced (default: every label with at least two mentions). Leave
        out labels whose text carries the row's meaning (an OBLIGATION clause).
    """

    name = "mention_replacement"

    def __init__(
        self,
        mentions: Mapping[str, Sequence[str]],
        p: float = 0.3,
        labels: Sequence[str] | None = None,
    ) -> None:
        self.mentions = {k: sorted(set(v)) for k, v in mentions.items()}
        self.p = p
        self.labels = None if labels is None else list(labels)

    @classmethod
    def from_rows(
        cls, rows: Iterable[Any], p: float = 0.3, labels: Sequence[str] | None = None
    ) -> MentionReplacement:
        """Collect the mentions of every label from span-annotated rows (mappings or
        :class:`SpanText`)."""
        bank: dict[str, set[str]] = {}
        for row in rows:
            for label, text in parse_span_text(row).mentions():
                bank.setdefault(label, set()).add(text)
        return cls({k: sorted(v) for k, v in bank.items()}, p, labels)

    def allows(self, label: str, text: str) -> bool:
        """Whether ``text`` is a mention this replacement could have written for ``label``."""
        return text in self.mentions.get(label, ())

    def apply(self, doc: SpanText, seed: int) -> tuple[SpanText, dict[str, Any]]:
        """The text with some spans swapped, its re-mapped spans, and ``replaced: [[label,
        old, new], ...]``."""
        rng = random.Random(seed)
        pieces, spans, replaced = [], [], []
        pos, shift = 0, 0
        for s in doc.spans:
            old = doc.text[s.start : s.end]
            new = old
            pool = [m for m in self.mentions.get(s.label, ()) if m != old]
            wanted = self.labels is None or s.label in self.labels
            if wanted and pool and rng.random() < self.p:
                new = rng.choice(pool)
                replaced.append([s.label, old, new])
            pieces += [doc.text[pos : s.start], new]
            start = s.start + shift
            spans.append(LabelledSpan(start, start + len(new), s.label))
            shift += len(new) - len(old)
            pos = s.end
        pieces.append(doc.text[pos:])
        return SpanText("".join(pieces), tuple(spans)), {"replaced": replaced}

    def to_dict(self) -> dict[str, Any]:
        return {"mentions": self.mentions, "p": self.p, "labels": self.labels}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MentionReplacement:
        return cls(d["mentions"], d.get("p", 0.3), d.get("labels"))
