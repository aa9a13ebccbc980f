"""What each column of a customer table is (type, categories, range) and the checks on bad input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Column kinds the synthesizers know.
KINDS = ("categorical", "integer", "float")


@dataclass
class ColumnSpec:
    """One column: its kind, dtype, and the values it may take.

    ``categories`` holds the allowed values of a categorical column (in the table's own type);
    ``low``/``high`` bound a numeric one.
    """

    name: str
    kind: str
    dtype: str
    categories: list[Any] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    decimals: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["categories"] = [_plain(c) for c in self.categories]
        return d


@dataclass
class TableSchema:
    """The columns of a customer table, inferred from the table by :func:`infer_schema`."""

    columns: list[ColumnSpec]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"column {name!r} is not in the table (columns: {self.names})")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def of_kind(self, *kinds: str) -> list[str]:
        return [c.name for c in self.columns if c.kind in kinds]

    def cast(self, df: pd.DataFrame) -> pd.DataFrame:
        """Give generated columns the table's dtypes (integers rounded, ranges clipped)."""
        out = {}
        for c in self.columns:
            s = df[c.name]
            if c.kind in ("integer", "float"):
                s = pd.to_numeric(s).clip(c.low, c.high)
                if c.kind == "integer":
                    s = np.rint(s)
                elif c.decimals is not None:
                    s = s.round(c.decimals)
            out[c.name] = s.astype(c.dtype)
        return pd.DataFrame(out, index=df.index)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}


def infer_schema(
    df: pd.DataFrame,
    categorical: Sequence[str] = (),
    max_numeric_categories: int = 2,
) -> TableSchema:
    """Infer each column's kind: text/bool columns and numeric columns with at most
    ``max_numeric_categories`` distinct values (0/1 flags) are categorical; numeric columns whose
    values are all whole numbers are integers; the rest are floats. ``categorical`` forces columns
    to be categorical.
    """
    check_table(df)
    unknown = [c for c in categorical if c not in df.columns]
    if unknown:
        raise KeyError(
            f"categorical column(s) {unknown} not in the table (columns: {list(df.columns)})"
        )
    specs = []
    for name in df.columns:
        s = df[name].dropna()
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if name in categorical or not numeric or s.nunique() <= max_numeric_categories:
            cats = sorted(s.unique().tolist(), key=lambda v: (str(type(v)), v))
            specs.append(ColumnSpec(name, "categorical", str(df[name].dtype), cats))
            continue
        values = s.to_numpy(dtype=np.float64)
        kind = "integer" if bool(np.all(np.mod(values, 1) == 0)) else "float"
        dtype = str(df[name].dtype)
        decimals = None if kind == "integer" else _decimals(values)
        specs.append(
            ColumnSpec(name, kind, dtype, [], float(values.min()), float(values.max()), decimals)
        )
    return TableSchema(specs)


def check_table(df: pd.DataFrame) -> None:
    """Refuse what cannot be modelled, naming the column and rows: not a frame, no rows,
    duplicate column names, a column that mixes types (e.g. numbers and text)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError("the table has no rows")
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise ValueError(f"duplicate column name(s) {dup}")
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
            _check_numbers_as_text(name, s)
            continue
        if s.dtype != object:
            continue
        kinds = s.dropna().map(_type_name)
        if kinds.nunique() > 1:
            examples = "; ".join(
                f"{k} ({int((kinds == k).sum())} rows, e.g. row {kinds.index[kinds == k][0]!r}: "
                f"{s[kinds.index[kinds == k][0]]!r})"
                for k in kinds.unique()
            )
            raise TypeError(
                f"column {name!r} mixes types: {examples}; convert it to one type first"
            )
        if (kinds == "str").all():
            _check_numbers_as_text(name, s)


def _check_numbers_as_text(name: str, s: pd.Series, share: float = 0.9) -> None:
    """A text column whose values are nearly all numbers (a CSV number column with a typo) would
    be modelled as categories without a word; refuse it, naming the rows that are not numbers."""
    values = s.dropna()
    if values.empty:
        return
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna()
    if bad.any() and (~bad).mean() >= share:
        rows = values.index[bad.to_numpy()].tolist()
        shown = ", ".join(f"row {r!r}: {s[r]!r}" for r in rows[:5])
        raise TypeError(
            f"column {name!r} mixes types: {int((~bad).sum())} values are numbers written as "
            f"text and {len(rows)} are not ({shown}); fix those values or convert the column"
        )


def missing_rows(df: pd.DataFrame) -> dict[str, list[Any]]:
    """Row labels with a missing value, per column (only columns that have any)."""
    na = df.isna()
    return {c: df.index[na[c]].tolist() for c in df.columns if na[c].any()}


def describe_missing(missing: dict[str, list[Any]]) -> str:
    parts = []
    for col, rows in missing.items():
        shown = ", ".join(repr(r) for r in rows[:5])
        parts.append(f"{col!r} in {len(rows)} row(s) ({shown}{', ...' if len(rows) > 5 else ''})")
    return "; ".join(parts)


def _decimals(values: np.ndarray, most: int = 6) -> int | None:
    """The fewest decimals that write every value exactly (e.g. 2 for money), or None."""
    for d in range(1, most + 1):
        scaled = values * 10**d
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-3):
            return d
    return None


def _type_name(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    return type(v).__name__


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
