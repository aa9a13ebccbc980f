"""Job inputs read shard by shard: CSV/TSV, JSONL, Parquet, a folder of images, an .npz.

Row ``i`` of the input always lands in shard ``i // shard_rows``, whichever way it is read:
:func:`iter_shards` streams them in order (the local engine), :func:`read_shard` reads one
(Ray workers). Every source id is a string (a row's number, the id column's value, an image's
path in its folder), so ids from a plan file, a table and the output tables compare equal.

What is wrong with the whole file stops the job before anything is written, with one line that
names the file, the line and the cause (:class:`InputError`): an empty file, a file that is not
UTF-8, a quote that is never closed, a file that is not the format it claims, a missing column,
one id on two rows. What is wrong with one row becomes a row error naming its line and cause,
and the rest goes on: a ragged CSV row, a blank line (it keeps its row number, so the ids of the
rows after it do not shift), a line that is not JSON, a missing or non-text payload, a lone
surrogate (text that is not valid Unicode), an image that cannot be decoded.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augment.candidate import Source
from augment.io.lines import utf8_lines
from augment.run.config import InputConfig

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
csv.field_size_limit(2**31 - 1)  # a long text cell is a row like any other


@dataclass
class Shard:
    """Rows ``start .. stop-1`` of the input as Sources, plus rows that could not be read
    (``source_id`` (or ``None``), ``row``, ``line``, ``stage``, ``error``)."""

    index: int
    start: int
    stop: int
    sources: list[Source]
    errors: list[dict[str, Any]] = field(default_factory=list)


class InputError(ValueError):
    """The input cannot be used at all; the message names the file, line or row, and cause."""


@dataclass
class Row:
    """One input row as read: its number, line (text files), id, payload and label, or the
    reason it could not be read."""

    row: int
    line: int | None
    id: str | None
    payload: Any = None
    label: Any = None
    error: str | None = None
    #: The column the row lacks, when that is its error (a JSONL line without the key).
    missing: str | None = None


# ---------------------------------------------------------------------- checks
def _check_path(cfg: InputConfig) -> str:
    if not cfg.path.exists():
        raise InputError(f"input file {cfg.path} does not exist")
    fmt = cfg.resolved_format()
    if fmt == "images" and not cfg.path.is_dir():
        raise InputError(f"input {cfg.path}: format 'images' reads a folder, this is a file")
    if fmt != "images" and cfg.path.is_dir():
        raise InputError(f"input {cfg.path} is a folder; format {fmt!r} reads a file")
    return fmt


def _lone_surrogate(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"U+{ord(text[exc.start]):04X} at character {exc.start}"
    return None


def _as_id(value: Any) -> str:
    """A row id as the one string form used everywhere (``1`` and ``"1"`` are the same id)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"id is {value!r}, not a number or text")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"id is {value!r}")
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    raise ValueError(f"id is a {type(value).__name__} ({value!r:.40}), not a number or text")


def _row(cfg: InputConfig, where: str, row: int, line: int | None, values: dict[str, Any]) -> Row:
    """A table row from its named values, checked: the id, a text payload, valid Unicode."""
    rid = str(row)
    if cfg.id_column:
        if cfg.id_column not in values:
            col = cfg.id_column
            return Row(row, line, None, error=f"{where}: no {col!r} value", missing=col)
        try:
            rid = _as_id(values[cfg.id_column])
        except ValueError as exc:
            return Row(row, line, None, error=f"{where}: {exc}")
        if not rid.strip():
            return Row(row, line, None, error=f"{where}: the id is empty")
    if cfg.payload_columns is not None:
        return _record_row(cfg, where, row, line, rid, values)
    for col in (cfg.payload_column, cfg.label_column):
        if col and col not in values:
            return Row(row, line, rid, error=f"{where}: no {col!r} value", missing=col)
    payload = values[cfg.payload_column]
    if not isinstance(payload, str):
        kind = "missing (null)" if payload is None else f"a {type(payload).__name__}"
        return Row(row, line, rid, error=f"{where}: {cfg.payload_column!r} is {kind}, not text")
    label = values[cfg.label_column] if cfg.label_column else None
    for name, value in ((cfg.payload_column, payload), ("id", rid), (cfg.label_column, label)):
        bad = _lone_surrogate(value) if isinstance(value, str) else None
        if bad:
            return Row(
                row,
                line,
                rid,
                error=f"{where}: {name!r} holds a lone surrogate ({bad}): not valid Unicode",
            )
    return Row(row, line, rid, payload, label)


def _record_row(
    cfg: InputConfig, where: str, row: int, line: int | None, rid: str, values: dict[str, Any]
) -> Row:
    """A row whose payload is a mapping of columns (``payload_columns``: a list, or ``all``):
    span texts and records. A listed column the row lacks is left out of the mapping, so the
    pipeline's field policy reports the missing field by name."""
    if cfg.label_column and cfg.label_column not in values:
        col = cfg.label_column
        return Row(row, line, rid, error=f"{where}: no {col!r} value", missing=col)
    cols = list(values) if cfg.payload_columns == "all" else list(cfg.payload_columns)
    payload = {c: values[c] for c in cols if c in values and not _is_null(values[c])}
    for name, value in payload.items():
        bad = _lone_surrogate(value) if isinstance(value, str) else None
        if bad:
            return Row(row, line, rid, error=f"{where}: {name!r} holds a lone surrogate ({bad})")
    label = values[cfg.label_column] if cfg.label_column else None
    return Row(row, line, rid, payload, label)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _required_columns(cfg: InputConfig) -> list[str]:
    """The columns every row of a table must be able to have: payload(s), label, id."""
    payload = (
        [cfg.payload_column]
        if cfg.payload_columns is None
        else ([] if cfg.payload_columns == "all" else list(cfg.payload_columns))
    )
    return [c for c in (*payload, cfg.label_column, cfg.id_column) if c is not None]


# ---------------------------------------------------------------------- text files
def _text_lines(path: Path) -> Iterator[str]:
    """The lines of a UTF-8 file (a byte-order mark dropped); a line that is not UTF-8 stops
    the job naming the line and the byte."""
    for lineno, text, cause in utf8_lines(path):
        if cause is not None:
            raise InputError(f"{path} line {lineno}: {cause}; save the file as UTF-8")
        yield text


def _sep(cfg: InputConfig) -> str:
    return "\t" if cfg.path.suffix.lower() == ".tsv" else ","


def _csv_rows(cfg: InputConfig) -> Iterator[Row]:
    path, name = cfg.path, cfg.path.name
    reader = csv.reader(_text_lines(path), delimiter=_sep(cfg), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty (no header line)") from None
    except csv.Error as exc:
        raise InputError(f"{path} line 1: the header cannot be read ({exc})") from None
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise InputError(f"{path} line 1: column(s) {dup} appear more than once in the header")
    for col in _required_columns(cfg):
        if col not in header:
            raise InputError(f"{path}: no column {col!r} (columns: {header})")
    row = 0
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise InputError(
                    f"{path} line {line}: a quoted field that starts on this line is never "
                    "closed (the file ends inside it)"
                ) from None
            yield Row(row, line, None, error=f"{name} line {line}: not valid CSV ({exc})")
        else:
            where = f"{name} line {line}"
            if not fields:
                yield Row(row, line, None, error=f"{where}: the line is blank")
            elif len(fields) != len(header):
                yield Row(
                    row,
                    line,
                    None,
                    error=f"{where}: {len(fields)} fields, the header has {len(header)}",
                )
            else:
                yield _row(cfg, where, row, line, dict(zip(header, fields)))
        row += 1


def _jsonl_rows(cfg: InputConfig) -> Iterator[Row]:
    """JSON Lines; each line stands alone, so a line that is not UTF-8 (unlike a CSV line) is
    that row's error and the rest is read."""
    from augment.io.jsonl import iter_jsonl

    name = cfg.path.name
    for row, obj, cause in iter_jsonl(cfg.path):
        if cause is not None:
            yield Row(row, row + 1, None, error=f"{name} {cause}")
        else:
            yield _row(cfg, f"{name} line {row + 1}", row, row + 1, obj)


def _parquet_rows(cfg: InputConfig) -> Iterator[Row]:
    name = cfg.path.name
    pf = _parquet_file(cfg.path)
    cols = None if cfg.payload_columns == "all" else list(dict.fromkeys(_required_columns(cfg)))
    row = 0
    for batch in pf.iter_batches(batch_size=10_000, columns=cols):
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            yield _row(cfg, f"{name} row {row}", row, None, {c: data[c][i] for c in data})
            row += 1


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a non-Parquet file
        raise InputError(f"{path}: not a Parquet file ({exc})") from None


def _check_parquet_columns(cfg: InputConfig) -> None:
    names = _parquet_file(cfg.path).schema_arrow.names
    for col in _required_columns(cfg):
        if col not in names:
            raise InputError(f"{cfg.path}: no column {col!r} (columns: {names})")


_TABLE_READERS: dict[str, Callable[[InputConfig], Iterator[Row]]] = {
    "csv": _csv_rows,
    "jsonl": _jsonl_rows,
    "parquet": _parquet_rows,
}


def _table_rows(cfg: InputConfig, fmt: str) -> Iterator[Row]:
    if fmt == "parquet":
        _check_parquet_columns(cfg)
    for r in _TABLE_READERS[fmt](cfg):
        if cfg.limit is not None and r.row >= cfg.limit:
            return
        yield r


# ---------------------------------------------------------------------- images
def _image_files(cfg: InputConfig) -> tuple[list[Path], list[Path]]:
    """(image files in order, other files that are not read)."""
    files = sorted(p for p in cfg.path.rglob("*") if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    return images, others


def _folder_shard(cfg: InputConfig, files: list[Path], k: int, start: int, stop: int) -> Shard:
    from augment.image.files import read_image

    sources, errors = [], []
    for i in range(start, stop):
        path = files[i]
        rel = path.relative_to(cfg.path).as_posix()
        label = path.parent.name if path.parent != cfg.path else None
        bad = _lone_surrogate(rel)
        try:
            if bad:
                raise ValueError(f"the file name holds a lone surrogate ({bad})")
            sources.append(Source(rel, read_image(path), label))
        except Exception as exc:  # one unreadable file is one row's error
            errors.append(_error(rel, i, None, f"{rel}: {type(exc).__name__}: {exc}"))
    return Shard(k, start, stop, sources, errors)


def _npz(cfg: InputConfig) -> tuple[np.ndarray, np.ndarray | None]:
    path = cfg.path
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"{path}: not a readable .npz archive ({exc})") from None
    if not hasattr(data, "files"):
        raise InputError(f"{path}: a single array, not an .npz archive of named arrays")
    with data:
        keys = list(data.files)
        if cfg.npz_images_key not in keys:
            raise InputError(f"{path}: no array {cfg.npz_images_key!r} (keys: {keys})")
        try:
            images = data[cfg.npz_images_key]
            labels = data[cfg.npz_labels_key] if cfg.npz_labels_key else None
        except KeyError:
            raise InputError(f"{path}: no array {cfg.npz_labels_key!r} (keys: {keys})") from None
        except Exception as exc:  # object arrays need pickle, which is never used
            raise InputError(f"{path}: an array cannot be read ({exc})") from None
    if images.ndim not in (3, 4):
        raise InputError(
            f"{path}: {cfg.npz_images_key!r} has shape {images.shape}; images are (N, H, W) or "
            "(N, H, W, C)"
        )
    if labels is not None:
        if len(labels) != len(images):
            raise InputError(
                f"{path}: {len(labels)} labels in {cfg.npz_labels_key!r} for {len(images)} "
                f"images in {cfg.npz_images_key!r}"
            )
        labels = np.asarray(labels).reshape(len(images), -1)
    return images, labels


def _npz_label(labels: np.ndarray | None, i: int) -> Any:
    if labels is None:
        return None
    return labels[i].item() if labels[i].size == 1 else json.dumps(labels[i].tolist())


def _npz_shard(
    images: np.ndarray, labels: np.ndarray | None, k: int, start: int, stop: int
) -> Shard:
    sources = [
        Source(str(i), np.asarray(images[i]), _npz_label(labels, i)) for i in range(start, stop)
    ]
    return Shard(k, start, stop, sources)


def _indexed(cfg: InputConfig, fmt: str) -> tuple[int, Callable[[int, int, int], Shard]]:
    """For images and .npz: the row count and a shard reader, listing the folder or loading
    the arrays once."""
    if fmt == "images":
        files = _image_files(cfg)[0]
        n = len(files)

        def read(k: int, start: int, stop: int) -> Shard:
            return _folder_shard(cfg, files, k, start, stop)
    else:
        images, labels = _npz(cfg)
        n = len(images)

        def read(k: int, start: int, stop: int) -> Shard:
            return _npz_shard(images, labels, k, start, stop)

    return (min(n, cfg.limit) if cfg.limit else n), read


# ---------------------------------------------------------------------- shards
def _error(source_id: str | None, row: int, line: int | None, error: str) -> dict[str, Any]:
    return {"source_id": source_id, "row": row, "line": line, "stage": "read", "error": error}


def _shard(k: int, start: int, rows: list[Row]) -> Shard:
    sources = [Source(r.id, r.payload, r.label) for r in rows if r.error is None]
    errors = [_error(r.id, r.row, r.line, r.error) for r in rows if r.error is not None]
    return Shard(k, start, start + len(rows), sources, errors)


def _grouped(rows: Iterator[Row], shard_rows: int) -> Iterator[tuple[int, list[Row]]]:
    buf: list[Row] = []
    for r in rows:
        buf.append(r)
        if len(buf) == shard_rows:
            yield r.row // shard_rows, buf
            buf = []
    if buf:
        yield buf[0].row // shard_rows, buf


def iter_shards(cfg: InputConfig, shard_rows: int, skip: set[int] | None = None) -> Iterator[Shard]:
    """Every shard in order, streaming; shards in ``skip`` are passed over."""
    fmt = _check_path(cfg)
    skip = skip or set()
    if fmt in ("images", "npz"):
        total, read = _indexed(cfg, fmt)
        for k, start in enumerate(range(0, total, shard_rows)):
            if k not in skip:
                yield read(k, start, min(start + shard_rows, total))
        return
    for k, rows in _grouped(_table_rows(cfg, fmt), shard_rows):
        if k not in skip:
            yield _shard(k, k * shard_rows, rows)


def read_shard(cfg: InputConfig, k: int, shard_rows: int) -> Shard:
    """Shard ``k`` alone (what a Ray worker reads)."""
    fmt = _check_path(cfg)
    start = k * shard_rows
    if fmt in ("images", "npz"):
        total, read = _indexed(cfg, fmt)
        if start >= total:
            raise IndexError(f"shard {k} is past the end of the input ({total} rows)")
        return read(k, start, min(start + shard_rows, total))
    for j, rows in _grouped(_table_rows(cfg, fmt), shard_rows):
        if j == k:
            return _shard(k, start, rows)
    raise IndexError(f"shard {k} is past the end of the input")


# ---------------------------------------------------------------------- scanning
@dataclass
class InputScan:
    """What one pass over the input found, before anything is written: the row count, the ids
    of the id column or the image paths (``None`` where ids are row numbers), ``(id, label)``
    of every readable row (when asked for), how many rows cannot be read, a fingerprint of the
    input's content, and notes for the user."""

    rows: int
    ids: list[str] | None
    labelled: list[tuple[str, Any]] | None
    unreadable: int
    fingerprint: str
    notes: list[str] = field(default_factory=list)

    def has_id(self, source_id: Any) -> bool:
        """Whether ``source_id`` is the id of an input row."""
        if self.ids is not None:
            if not hasattr(self, "_id_set"):
                self._id_set = set(self.ids)
            return source_id in self._id_set
        return (
            isinstance(source_id, str)
            and source_id.isdigit()
            and str(int(source_id)) == source_id
            and int(source_id) < self.rows
        )


def fingerprint(cfg: InputConfig) -> str:
    """A hash of the input: a file's bytes, or a folder's file names, sizes and times."""
    h = hashlib.blake2b(digest_size=16)
    if cfg.path.is_dir():
        for p in sorted(cfg.path.rglob("*")):
            if p.is_file():
                st = p.stat()
                entry = f"{p.relative_to(cfg.path).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n"
                h.update(entry.encode("utf-8", "surrogateescape"))
    else:
        with open(cfg.path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def scan(cfg: InputConfig, labels: bool = False) -> InputScan:
    """Read the whole input once: count rows, collect ids (refusing one id on two rows) and,
    with ``labels``, the id and label of every readable row. Raises :class:`InputError` for
    what makes the input unusable, so that a job stops before it writes anything."""
    fmt = _check_path(cfg)
    notes: list[str] = []
    if fmt == "images":
        total = _indexed(cfg, fmt)[0]
        files, others = _image_files(cfg)
        ids = [p.relative_to(cfg.path).as_posix() for p in files[:total]]
        if others:
            kinds = sorted({p.suffix.lower() or "(no suffix)" for p in others})
            notes.append(
                f"{len(others)} file(s) in {cfg.path} are not images and are not read "
                f"({', '.join(kinds)})"
            )
        labelled = None
        if labels:
            labelled = [
                (i, p.parent.name if p.parent != cfg.path else None) for i, p in zip(ids, files)
            ]
        return InputScan(total, ids, labelled, 0, fingerprint(cfg), notes)
    if fmt == "npz":
        images, lab = _npz(cfg)
        total = min(len(images), cfg.limit) if cfg.limit else len(images)
        labelled = [(str(i), _npz_label(lab, i)) for i in range(total)] if labels else None
        return InputScan(total, None, labelled, 0, fingerprint(cfg), notes)
    seen: dict[str, Row] = {}
    ids: list[str] = []
    labelled = []
    rows = unreadable = 0
    missing: dict[str, int] = {}
    for r in _table_rows(cfg, fmt):
        rows += 1
        if r.error is not None:
            unreadable += 1
            if r.missing:
                missing[r.missing] = missing.get(r.missing, 0) + 1
            continue
        if cfg.id_column:
            first = seen.get(r.id)
            if first is not None:
                raise InputError(
                    f"{cfg.path}: id {r.id!r} of {_where(r)} is also the id of {_where(first)}; "
                    f'ids in {cfg.id_column!r} must be unique (1 and "1" are the same id)'
                )
            seen[r.id] = Row(r.row, r.line, r.id)
            ids.append(r.id)
        if labels:
            labelled.append((r.id, r.label))
    for col, n in missing.items():
        if n == rows:
            raise InputError(f"{cfg.path}: no row has a {col!r} value (is the column named so?)")
    if rows and unreadable == rows:
        notes.append(f"none of the {rows} rows of {cfg.path} can be read")
    return InputScan(
        rows,
        ids if cfg.id_column else None,
        labelled if labels else None,
        unreadable,
        fingerprint(cfg),
        notes,
    )


def _where(r: Row) -> str:
    return f"row {r.row}" + (f" (line {r.line})" if r.line is not None else "")
