"""Markdown tables for reports."""

from __future__ import annotations

import pandas as pd


def md_table(df: pd.DataFrame) -> str:
    """``df`` as a Markdown table (cells with ``|`` escaped, newlines as spaces)."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [str(x).replace("|", "\\|").replace("\n", " ") for x in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
