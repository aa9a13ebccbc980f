"""The lines of a UTF-8 file, one reader for every line-based input (CSV/TSV rows, JSON Lines):
a byte-order mark on the first line is dropped, and a line that is not UTF-8 is reported with its
number, byte and column instead of stopping the reader."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path


def utf8_lines(path: str | Path) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, None)`` for every line (numbered from 1, line ending kept), or
    ``(line number, None, cause)`` for a line that is not UTF-8."""
    with open(Path(path), "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield lineno, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                why = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                yield lineno, None, why
