"""Span-annotated text (clause and entity extraction data): a text plus labelled character
spans (``{"text", "spans": [{"start", "end", "label"}]}``), augmented so that every span still
labels the same characters, with its offsets re-mapped in the candidate.

Quick start::

    from augment.spans import SpanPipeline
    pipe = SpanPipeline.from_preset("eda")
    row = {"text": "Acme Ltd shall pay $5,000 by 1 May 2025.",
           "spans": [{"start": 0, "end": 8, "label": "PARTY"}]}
    variant, ops = pipe.apply(row, seed=3)

``SPANS`` is the modality record: texts are judged by the text filter (all-MiniLM-L6-v2);
``augment run`` reads the rows from JSONL or Parquet (``input.payload_columns: [text, spans]``)
and writes each candidate as its JSON row.
"""

from __future__ import annotations

from typing import Any

from augment.io.jsonl import read_json_row, write_json_row
from augment.pipeline import Modality, register
from augment.records.filter import FieldFilter
from augment.spans.formats import read_span_jsonl, write_span_jsonl
from augment.spans.mentions import MentionReplacement
from augment.spans.payload import LabelledSpan, SpanError, SpanText, parse_span_text
from augment.spans.pipeline import SpanPipeline


def default_filter() -> FieldFilter:
    """The text filter (all-MiniLM-L6-v2, default band) on the text of each payload."""
    return FieldFilter(None, ["text"])


def config_filter(f: Any, shard_rows: int) -> FieldFilter:
    """The filter of an ``augment run`` job: the text modality's, on the text."""
    from augment.text import config_filter as text_filter

    return FieldFilter(text_filter(f, shard_rows), ["text"])


SPANS = register(
    Modality(
        name="spans",
        pipeline=SpanPipeline,
        default_filter=default_filter,
        config_filter=config_filter,
        write_payload=write_json_row,
        read_payload=read_json_row,
    )
)

__all__ = [
    "SPANS",
    "LabelledSpan",
    "MentionReplacement",
    "SpanError",
    "SpanPipeline",
    "SpanText",
    "parse_span_text",
    "read_span_jsonl",
    "write_span_jsonl",
]
