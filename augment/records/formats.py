"""Records on disk: JSON Lines and Parquet, read into :class:`~augment.candidate.Source`
objects whose payload is the row as a plain mapping, and written back the same way.

Every row is accounted for: a JSONL line that is not UTF-8, not JSON or not an object becomes
an error record naming the row; Parquet rows come back as plain Python values (lists, not
arrays), so a chat field reads the same from either format.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from augment.candidate import Source
from augment.io.jsonl import read_jsonl, write_jsonl


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"{path}: cannot tell the format from {suffix!r} (use .jsonl or .parquet)")


def read_records(
    path: str | Path, id_key: str | None = "id", label_key: str | None = None
) -> tuple[list[Source], list[dict[str, Any]]]:
    """``(sources, errors)``: one Source per readable row (id: its ``id_key`` value, else the
    row number; payload: the whole row; label: ``label_key``'s value when given), one error
    record (``row``, ``field``, ``error``) per row that cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"record file {path} does not exist")
    if _format(path) == "jsonl":
        rows, errors = read_jsonl(path)
    else:
        import pyarrow.parquet as pq

        rows, errors = list(enumerate(pq.read_table(path).to_pylist())), []
    sources = [
        Source(
            obj.get(id_key, row) if id_key else row,
            obj,
            obj.get(label_key) if label_key else None,
        )
        for row, obj in rows
    ]
    return sources, errors


def write_records(path: str | Path, payloads: Iterable[Any]) -> Path:
    """Write records (mappings, or candidates, whose payload is taken) as JSONL or Parquet, by
    the file's suffix."""
    path = Path(path)
    rows = [getattr(p, "payload", p) for p in payloads]
    if _format(path) == "jsonl":
        return write_jsonl(path, rows)
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from augment.io.atomic import atomic_write_bytes

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return atomic_write_bytes(path, buf.getvalue())
