"""Span-annotated rows on disk: JSONL (``{"text", "spans": [{"start", "end", "label"}]}``, the
format most extraction tools export: doccano, Label Studio's span JSON after flattening,
spaCy's ``offsets`` training format) and CoNLL-style token tags (one ``token TAG`` line per
token, BIO or IOB2 tags, a blank line between sentences).

Every line is accounted for: a row that is not UTF-8 or not JSON, that lacks ``text``, or whose
spans are out of range, overlapping or do not match the text becomes an error record naming the
row and the field; the other rows are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from augment.candidate import Source
from augment.io.jsonl import error_record, iter_jsonl, write_jsonl
from augment.spans.payload import LabelledSpan, SpanError, SpanText, parse_span_text


def read_span_jsonl(
    path: str | Path, id_key: str | None = "id", label_key: str | None = None
) -> tuple[list[Source], list[dict[str, Any]]]:
    """``(sources, errors)`` of a span JSONL file: one :class:`~augment.candidate.Source` per
    good row (id: the row's ``id_key`` value, else its row number; payload: the checked row as
    a mapping, other keys kept; label: ``label_key``'s value if given), one error record
    (``row``, ``field``, ``error``) per bad one."""
    sources, errors = [], []
    for row, obj, cause in iter_jsonl(path):
        if cause is not None:
            errors.append(error_record(row, None, cause))
            continue
        try:
            doc = parse_span_text(obj)
        except SpanError as exc:
            errors.append(error_record(row, exc.field, str(exc)))
            continue
        payload = {**obj, **doc.to_dict()}
        rid = obj.get(id_key, row) if id_key else row
        sources.append(Source(rid, payload, obj.get(label_key) if label_key else None))
    return sources, errors


def write_span_jsonl(path: str | Path, payloads: Iterable[Any]) -> Path:
    """Write span payloads (mappings, :class:`SpanText`, or candidates, whose payload is
    taken) as JSONL rows, each checked first."""
    rows = []
    for p in payloads:
        p = getattr(p, "payload", p)
        doc = parse_span_text(p)
        rows.append({**(p if isinstance(p, dict) else {}), **doc.to_dict()})
    return write_jsonl(path, rows)


def read_conll(path: str | Path, sep: str | None = None) -> list[SpanText]:
    """Sentences of a CoNLL-style file (token first, tag last on each line; ``-DOCSTART-``
    lines skipped) as texts whose tokens are joined by single spaces, ``B-X``/``I-X`` runs
    becoming spans labelled ``X``. An ``I-X`` after a different label starts a new span (IOB1).
    A line without a tag raises ``ValueError`` naming it."""
    docs: list[SpanText] = []
    tokens: list[tuple[str, str]] = []

    def flush() -> None:
        if tokens:
            docs.append(tags_to_span_text(tokens))
            tokens.clear()

    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                flush()
                continue
            parts = line.split(sep)
            if len(parts) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'token ... TAG', got {line[:60]!r}")
            tokens.append((parts[0], parts[-1]))
    flush()
    return docs


def tags_to_span_text(tokens: list[tuple[str, str]]) -> SpanText:
    """``[(token, tag), ...]`` -> a text (tokens joined by spaces) with its labelled spans."""
    text, spans, pos = [], [], 0
    current: list[Any] | None = None
    for tok, tag in tokens:
        start = pos
        text.append(tok)
        pos += len(tok) + 1
        kind, _, label = tag.partition("-")
        if tag == "O" or not label:
            current = None
            continue
        if kind == "B" or current is None or current[2] != label:
            current = [start, start + len(tok), label]
            spans.append(current)
        else:
            current[1] = start + len(tok)
    return SpanText(" ".join(text), tuple(LabelledSpan(s, e, lab) for s, e, lab in spans))


def span_text_to_tags(doc: SpanText) -> list[tuple[str, str]]:
    """A text split on whitespace, each token tagged ``B-X``/``I-X`` inside a span labelled
    ``X``, else ``O`` (the inverse of :func:`tags_to_span_text` for whitespace tokens)."""
    out, pos = [], 0
    for tok in doc.text.split():
        start = doc.text.index(tok, pos)
        pos = start + len(tok)
        tag = "O"
        for s in doc.spans:
            if s.start <= start < s.end:
                tag = ("B-" if start == s.start else "I-") + s.label
                break
        out.append((tok, tag))
    return out


def read_docbin(path: str | Path, lang: str = "en", spans_key: str | None = None) -> list[SpanText]:
    """The documents of a spaCy ``DocBin`` file (``.spacy``, spaCy's training format) as
    span-annotated texts: the entities (``doc.ents``), or the span group ``spans_key``. Needs
    spaCy (extra ``spans``); only a blank vocabulary of ``lang`` is made, no model is loaded."""
    spacy, DocBin = _spacy()
    nlp = spacy.blank(lang)
    out = []
    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        spans = doc.ents if spans_key is None else doc.spans[spans_key]
        found = sorted((s.start_char, s.end_char, s.label_) for s in spans)
        out.append(SpanText(doc.text, tuple(LabelledSpan(a, b, lab) for a, b, lab in found)))
    return out


def write_docbin(path: str | Path, payloads: Iterable[Any], lang: str = "en") -> Path:
    """Write span payloads (mappings, :class:`SpanText`, candidates) as a spaCy ``DocBin`` with
    the spans as entities; a span that does not fall on token boundaries of spaCy's ``lang``
    tokenizer raises ``ValueError`` naming the document and the span."""
    spacy, DocBin = _spacy()
    nlp = spacy.blank(lang)
    db = DocBin()
    for k, p in enumerate(payloads):
        doc_text = parse_span_text(getattr(p, "payload", p))
        doc = nlp.make_doc(doc_text.text)
        ents = []
        for i, s in enumerate(doc_text.spans):
            span = doc.char_span(s.start, s.end, label=s.label, alignment_mode="strict")
            if span is None:
                raise ValueError(
                    f"document {k}, spans[{i}] {s.label} [{s.start}, {s.end}) "
                    f"{doc_text.span_text(i)!r} does not fall on spaCy token boundaries"
                )
            ents.append(span)
        doc.ents = ents
        db.add(doc)
    path = Path(path)
    db.to_disk(path)
    return path


def _spacy() -> tuple[Any, Any]:
    try:
        import spacy
        from spacy.tokens import DocBin
    except ImportError as exc:  # pragma: no cover - spaCy is an optional extra
        raise ImportError(
            "reading or writing spaCy DocBin files needs spaCy: "
            "pip install 'augment-fidelity[spans]'"
        ) from exc
    return spacy, DocBin
