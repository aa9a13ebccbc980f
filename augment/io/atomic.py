"""Writes that are all-or-nothing: a file is either its old self or its complete new self, even
if the process is killed mid-write, and a reader never sees a half-written file.

Every write goes to a temporary name in the same folder that is unique to the process and the
call (``.<name>.tmp-<pid>-<random>``), is fsynced, and is renamed over the final name; two
writers of one file (two processes, or two threads) never share a temporary file. A write that
fails (disk full, a full quota) removes its temporary file before the error goes on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

#: errno values that mean "no room left": the job must stop, not record a row error.
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def temporary_name(path: str | Path) -> Path:
    """A name beside ``path`` that no other process or call will use."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new contents to; on a clean exit it is fsynced and
    renamed over ``path``, on an error it is removed and the error goes on."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_parquet(path: str | Path, frame: pd.DataFrame, schema: Any = None) -> Path:
    """``frame`` as Parquet (with the pyarrow ``schema``, when given, so that an empty frame
    keeps its column types)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def remove_temporaries(folder: str | Path) -> int:
    """Remove temporary files (``.*.tmp-*``) that killed writers left in ``folder`` and its
    subfolders; returns how many. Call it only while holding the folder's lock."""
    n = 0
    for p in Path(folder).rglob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n
