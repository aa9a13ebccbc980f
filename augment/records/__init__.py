"""Structured records: instruction rows (``instruction``/``input``/``output``) and chat
transcripts (``messages``), varied under a field policy (what to rewrite, each field with its
own pipeline and protected spans; what to keep verbatim; what to judge by).

Quick start::

    from augment.records import RecordPipeline
    pipe = RecordPipeline.from_preset("chat")          # rewrite user turns, keep the rest
    row = {"messages": [{"role": "user", "content": "How do I reset my password?"},
                        {"role": "assistant", "content": "Open Settings, then Security."}]}
    variant, ops = pipe.apply(row, seed=1)

``RECORDS`` is the modality record: each changed text field (each rewritten chat turn) is
judged by the text filter against its source (:class:`FieldFilter`); ``augment run`` reads the
rows from JSONL or Parquet (``input.payload_columns: all``) and writes each candidate as its
JSON row.
"""

from __future__ import annotations

from typing import Any

from augment.io.jsonl import read_json_row, write_json_row
from augment.pipeline import Modality, register
from augment.records.filter import FieldFilter, changed_texts
from augment.records.formats import read_records, write_records
from augment.records.pipeline import RecordError, RecordPipeline


def default_filter() -> FieldFilter:
    """The text filter (all-MiniLM-L6-v2, default band) on every text field that changed."""
    return FieldFilter()


def config_filter(f: Any, shard_rows: int) -> FieldFilter:
    """The filter of an ``augment run`` job: the text modality's, field by field."""
    from augment.text import config_filter as text_filter

    return FieldFilter(text_filter(f, shard_rows))


RECORDS = register(
    Modality(
        name="records",
        pipeline=RecordPipeline,
        default_filter=default_filter,
        config_filter=config_filter,
        write_payload=write_json_row,
        read_payload=read_json_row,
    )
)

__all__ = [
    "RECORDS",
    "FieldFilter",
    "RecordError",
    "RecordPipeline",
    "changed_texts",
    "read_records",
    "write_records",
]
