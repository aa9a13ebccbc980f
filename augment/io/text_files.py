"""Readers for the project's plain-text formats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_labelled_text(path: str | Path, limit: int | None = None) -> pd.DataFrame:
    """Read a ``label<TAB>text`` file (one example per line) into columns ``label`` and ``text``.

    Blank lines are skipped; a non-blank line without a tab is an error that names the line.
    """
    path = Path(path)
    labels, texts = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise ValueError(f"{path}:{lineno}: expected 'label<TAB>text', got {line[:60]!r}")
            label, text = line.split("\t", 1)
            labels.append(label.strip())
            texts.append(text.strip())
            if limit is not None and len(texts) >= limit:
                break
    return pd.DataFrame({"label": labels, "text": texts})


def read_pairs(path: str | Path) -> tuple[list[str], list[str]]:
    """Read a ``source<TAB>variant`` file into two lists."""
    frame = read_labelled_text(path)
    return frame["label"].tolist(), frame["text"].tolist()


def example_path(*parts: str) -> Path:
    """A file of the example data shipped with the package (``augment/examples``)."""
    return Path(__file__).resolve().parents[1].joinpath("examples", *parts)
