"""Job inputs read shard by shard: CSV/TSV, JSONL, Parquet, a folder of images, an .npz.

Row ``i`` of the input always lands in shard ``i // shard_rows``, whichever way it is read:
:func:`iter_shards` streams them in order (the local engine), :func:`read_shard` reads one
(Ray workers). A row that cannot be read (a corrupt image) becomes an error record naming the
row and the cause; the rest of the shard goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment.candidate import Source
from augment.run.config import InputConfig

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class Shard:
    """Rows ``start .. stop-1`` of the input as Sources, plus rows that could not be read."""

    index: int
    start: int
    stop: int
    sources: list[Source]
    errors: list[dict[str, Any]] = field(default_factory=list)


class InputError(ValueError):
    """The input cannot be read at all (missing file, missing column)."""


def _check_path(cfg: InputConfig) -> str:
    if not cfg.path.exists():
        raise InputError(f"input file {cfg.path} does not exist")
    return cfg.resolved_format()


# ---------------------------------------------------------------------- tables
#: Cells are read as written: an empty text stays "" (the filter calls it invalid), not NaN.
_CSV = {"na_filter": False, "dtype": object}


def _sep(cfg: InputConfig) -> str:
    return "\t" if cfg.path.suffix.lower() == ".tsv" else ","


def _frame_to_sources(cfg: InputConfig, frame: pd.DataFrame, start: int) -> list[Source]:
    for col in (cfg.payload_column, cfg.label_column, cfg.id_column):
        if col is not None and col not in frame.columns:
            raise InputError(f"{cfg.path}: no column {col!r} (columns: {list(frame.columns)})")
    payloads = frame[cfg.payload_column].tolist()
    labels = frame[cfg.label_column].tolist() if cfg.label_column else [None] * len(frame)
    ids = frame[cfg.id_column].tolist() if cfg.id_column else list(range(start, start + len(frame)))
    return [Source(i, p, lab) for i, p, lab in zip(ids, payloads, labels)]


def _table_chunks(cfg: InputConfig, fmt: str, size: int) -> Iterator[pd.DataFrame]:
    if fmt == "csv":
        yield from pd.read_csv(
            cfg.path,
            sep=_sep(cfg),
            chunksize=size,
            **_CSV,
        )
    elif fmt == "jsonl":
        yield from pd.read_json(cfg.path, lines=True, chunksize=size, dtype=False)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        buf: list[pd.DataFrame] = []
        n = 0
        for batch in pq.ParquetFile(cfg.path).iter_batches(batch_size=size):
            buf.append(batch.to_pandas())
            n += batch.num_rows
            while n >= size:
                whole = pd.concat(buf, ignore_index=True)
                yield whole.iloc[:size].reset_index(drop=True)
                rest = whole.iloc[size:].reset_index(drop=True)
                buf, n = ([rest] if len(rest) else []), len(rest)
        if n:
            yield pd.concat(buf, ignore_index=True)
    else:  # pragma: no cover
        raise AssertionError(fmt)


# ---------------------------------------------------------------------- images
def _image_files(cfg: InputConfig) -> list[Path]:
    return sorted(p for p in cfg.path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_image(path: Path) -> np.ndarray:
    from augment.image.files import read_image

    return read_image(path)


def _folder_shard(cfg: InputConfig, files: list[Path], k: int, start: int, stop: int) -> Shard:
    sources, errors = [], []
    for i in range(start, stop):
        path = files[i]
        rel = path.relative_to(cfg.path).as_posix()
        label = path.parent.name if path.parent != cfg.path else None
        try:
            sources.append(Source(rel, _read_image(path), label))
        except Exception as exc:
            errors.append(
                {
                    "source_id": rel,
                    "row": i,
                    "stage": "read",
                    "error": f"{type(exc).__name__}: {exc} ({path})",
                }
            )
    return Shard(k, start, stop, sources, errors)


def _npz(cfg: InputConfig) -> tuple[np.ndarray, np.ndarray | None]:
    data = np.load(cfg.path)
    if cfg.npz_images_key not in data:
        raise InputError(f"{cfg.path}: no array {cfg.npz_images_key!r} (keys: {list(data)})")
    labels = None
    if cfg.npz_labels_key:
        if cfg.npz_labels_key not in data:
            raise InputError(f"{cfg.path}: no array {cfg.npz_labels_key!r} (keys: {list(data)})")
        labels = np.asarray(data[cfg.npz_labels_key]).reshape(len(data[cfg.npz_images_key]), -1)
    return data[cfg.npz_images_key], labels


def _npz_shard(
    images: np.ndarray, labels: np.ndarray | None, k: int, start: int, stop: int
) -> Shard:
    sources = []
    for i in range(start, stop):
        lab = (
            None
            if labels is None
            else (labels[i].item() if labels[i].size == 1 else json.dumps(labels[i].tolist()))
        )
        sources.append(Source(i, np.asarray(images[i]), lab))
    return Shard(k, start, stop, sources)


# ---------------------------------------------------------------------- public
def _indexed(cfg: InputConfig, fmt: str) -> tuple[int, Callable[[int, int, int], Shard]]:
    """For images and .npz: the row count and a shard reader, listing the folder or loading
    the arrays once."""
    if fmt == "images":
        files = _image_files(cfg)
        n = len(files)

        def read(k: int, start: int, stop: int) -> Shard:
            return _folder_shard(cfg, files, k, start, stop)
    else:
        images, labels = _npz(cfg)
        n = len(images)

        def read(k: int, start: int, stop: int) -> Shard:
            return _npz_shard(images, labels, k, start, stop)

    return (min(n, cfg.limit) if cfg.limit else n), read


def count_rows(cfg: InputConfig) -> int:
    """Rows in the input (after ``limit``)."""
    fmt = _check_path(cfg)
    if fmt in ("images", "npz"):
        return _indexed(cfg, fmt)[0]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        n = pq.ParquetFile(cfg.path).metadata.num_rows
    else:
        n = sum(len(c) for c in _table_chunks(cfg, fmt, 50_000))
    return min(n, cfg.limit) if cfg.limit else n


def iter_shards(cfg: InputConfig, shard_rows: int, skip: set[int] | None = None) -> Iterator[Shard]:
    """Every shard in order, streaming; shards in ``skip`` are passed over without decoding."""
    fmt = _check_path(cfg)
    skip = skip or set()
    if fmt in ("images", "npz"):
        total, read = _indexed(cfg, fmt)
        for k, start in enumerate(range(0, total, shard_rows)):
            if k not in skip:
                yield read(k, start, min(start + shard_rows, total))
        return
    start = 0
    for k, frame in enumerate(_table_chunks(cfg, fmt, shard_rows)):
        if cfg.limit is not None:
            frame = frame.iloc[: max(0, cfg.limit - start)]
            if frame.empty:
                return
        stop = start + len(frame)
        if k not in skip:
            yield Shard(k, start, stop, _frame_to_sources(cfg, frame, start))
        start = stop


def read_shard(cfg: InputConfig, k: int, shard_rows: int) -> Shard:
    """Shard ``k`` alone (what a Ray worker reads); tables are parsed only up to its rows."""
    fmt = _check_path(cfg)
    start = k * shard_rows
    if fmt in ("images", "npz"):
        total, read = _indexed(cfg, fmt)
        if start >= total:
            raise IndexError(f"shard {k} is past the end of the input ({total} rows)")
        return read(k, start, min(start + shard_rows, total))
    n = shard_rows if cfg.limit is None else min(shard_rows, cfg.limit - start)
    frame = None
    if n > 0 and fmt == "csv":
        frame = pd.read_csv(cfg.path, sep=_sep(cfg), skiprows=range(1, start + 1), nrows=n, **_CSV)
    elif n > 0:
        chunk = next((c for i, c in enumerate(_table_chunks(cfg, fmt, shard_rows)) if i == k), None)
        frame = None if chunk is None else chunk.iloc[:n]
    if frame is None or frame.empty:
        raise IndexError(f"shard {k} is past the end of the input")
    return Shard(k, start, start + len(frame), _frame_to_sources(cfg, frame, start))


def read_labels(cfg: InputConfig) -> tuple[list[Any], list[Any]]:
    """(ids, labels) of every row, for class-balance planning."""
    ids, labels = [], []
    for shard in iter_shards(cfg, 10_000):
        ids += [s.id for s in shard.sources]
        labels += [s.label for s in shard.sources]
    return ids, labels
