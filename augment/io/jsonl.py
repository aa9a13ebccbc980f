"""JSON Lines read line by line, so that one bad line is an error record, not a lost file.

``pandas.read_json(lines=True)`` refuses a whole file for one line that is not UTF-8 or not
JSON; training data written by hand or by scrapers has such lines. :func:`read_jsonl` returns
the rows it could read and one error record per line it could not (its row number, ``field``
``None`` for the whole line, and the cause), so every line is accounted for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from augment.io.atomic import atomic_write_text
from augment.io.json_values import json_default
from augment.io.lines import utf8_lines


def error_record(row: Any, field: str | None, error: str) -> dict[str, Any]:
    """The one shape of a row that could not be used: which row, which field (``None``: the
    whole row) and why."""
    return {"row": row, "field": field, "error": error}


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(row, object, None)`` for every line holding a JSON object, ``(row, None, cause)`` for
    every other line (blank, not UTF-8, not JSON, not an object), the cause starting with
    ``line N:``. Row ``i`` is line ``i + 1``: a bad or blank line keeps its number, so the rows
    after it keep theirs (one parser for ``augment run`` and the span and record readers)."""
    for lineno, line, cause in utf8_lines(path):
        row, where = lineno - 1, f"line {lineno}"
        if cause is not None:
            yield row, None, f"{where}: {cause}"
            continue
        text = line.strip()
        if not text:
            yield row, None, f"{where}: the line is blank"
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield row, None, f"{where}: not valid JSON ({exc.msg}, column {exc.colno})"
            continue
        if isinstance(obj, dict):
            yield row, obj, None
        else:
            yield row, None, f"{where}: a JSON {type(obj).__name__}, not an object"


def read_jsonl(path: str | Path) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """``([(row, object), ...], [error record, ...])`` of a JSON Lines file."""
    rows, errors = [], []
    for row, obj, cause in iter_jsonl(path):
        if cause is None:
            rows.append((row, obj))
        else:
            errors.append(error_record(row, None, cause))
    return rows, errors


def write_jsonl(path: str | Path, objects: Iterable[Any]) -> Path:
    """One JSON object per line, UTF-8 kept as is (no ``\\u`` escapes), written atomically;
    numpy values become plain numbers."""
    lines = [json.dumps(o, ensure_ascii=False, default=json_default) for o in objects]
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


def write_json_row(payload: Any, output: Path, candidate_id: str) -> str:
    """A record payload as the JSON row it would be in a JSONL file (how ``augment run`` keeps
    record and span payloads in its tables: one column, the same text as a JSONL line)."""
    value = payload.to_dict() if hasattr(payload, "to_dict") else payload
    return json.dumps(value, ensure_ascii=False, default=json_default)


def read_json_row(value: Any, output: Path) -> Any:
    """The payload :func:`write_json_row` wrote."""
    return json.loads(value) if isinstance(value, str) else value
