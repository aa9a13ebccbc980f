"""Embeddings of table rows (customer profiles) for the fidelity filter.

Two variants:

* ``"standard"``: numeric columns as z-scores (fitted on the real table), categorical columns
  one-hot with weight ``1/sqrt(2)`` so that one differing category moves a row as far as one
  standard deviation of a number; the vector is L2-normalised.
* ``"text"``: the row rendered as ``"column: value; ..."`` and embedded by the sentence encoder
  (:class:`fidelity.TextEncoder`). Slower, and blind to magnitudes (see docs/personas.md for the
  measurement of which rejects bad rows better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fidelity.encoders.base import l2_normalise

VARIANTS = ("standard", "text")


class TabularEncoder:
    """Maps rows (a DataFrame, or a list of dicts / Series) to normalised vectors.

    Parameters
    ----------
    variant:
        ``"standard"`` or ``"text"`` (see the module docstring).
    columns:
        Columns to encode; default all columns of the table given to :meth:`fit`.
    categorical:
        Columns to treat as categories even when numeric; by default text/bool columns are
        categorical and numeric ones are standardised.
    text_encoder:
        The sentence encoder for ``variant="text"`` (default :class:`fidelity.TextEncoder`).

    Call :meth:`fit` on the real table before encoding.
    """

    def __init__(
        self,
        variant: str = "standard",
        columns: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        text_encoder: Any | None = None,
    ) -> None:
        self.variant = variant
        self.columns = columns
        self.categorical = categorical
        self.text_encoder = text_encoder

    @property
    def name(self) -> str:
        return f"tabular-{self.variant}"

    # ------------------------------------------------------------------ fit
    def fit(self, table: pd.DataFrame) -> TabularEncoder:
        """Learn column kinds, means, scales and categories from the real table."""
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if not isinstance(table, pd.DataFrame) or table.empty:
            raise ValueError("TabularEncoder.fit needs a non-empty DataFrame")
        cols = list(self.columns) if self.columns is not None else list(table.columns)
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not in the table (columns: {list(table.columns)})")
        self.numeric_: list[str] = []
        self.categories_: dict[str, list[Any]] = {}
        self.mean_: dict[str, float] = {}
        self.scale_: dict[str, float] = {}
        for c in cols:
            s = table[c].dropna()
            is_num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
            if is_num and c not in self.categorical:
                self.numeric_.append(c)
                self.mean_[c] = float(s.mean())
                sd = float(s.std(ddof=0))
                self.scale_[c] = sd if sd > 0 else 1.0
            else:
                self.categories_[c] = sorted(pd.unique(s).tolist(), key=str)
        self.columns_ = cols
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise RuntimeError("TabularEncoder is not fitted: call fit(real_table) first")

    # ------------------------------------------------------------------ validation
    def validate(self, item: Any) -> str | None:
        """What makes one row unusable (missing column, NaN, unknown category, text in a number
        column), in words, or None."""
        self._check_fitted()
        if isinstance(item, pd.Series):
            item = item.to_dict()
        if not isinstance(item, dict):
            return f"is {type(item).__name__}, not a row (dict or Series)"
        for c in self.columns_:
            if c not in item:
                return f"has no column {c!r}"
            v = item[c]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return f"has a missing value in column {c!r}"
            if c in self.mean_:
                if isinstance(v, (bool, str)) or not isinstance(v, (int, float, np.number)):
                    return f"has {v!r} in numeric column {c!r}"
            elif v not in self.categories_[c]:
                return f"has unknown category {v!r} in column {c!r} (known: {self.categories_[c]})"
        return None

    def problems(self, rows: pd.DataFrame) -> list[str | None]:
        """:meth:`validate` for every row of a frame, vectorised; row labels in the messages."""
        self._check_fitted()
        out: list[str | None] = [None] * len(rows)
        absent = [c for c in self.columns_ if c not in rows.columns]
        if absent:
            return [f"has no column {absent[0]!r}"] * len(rows)
        for c in reversed(self.columns_):  # first problem in column order wins
            s = rows[c]
            na = s.isna().to_numpy()
            if c in self.mean_:
                num = pd.to_numeric(s, errors="coerce")
                bad_type = num.isna().to_numpy() & ~na
                for i in np.flatnonzero(bad_type):
                    out[i] = f"has {s.iat[i]!r} in numeric column {c!r}"
            else:
                unknown = ~s.isin(self.categories_[c]).to_numpy() & ~na
                for i in np.flatnonzero(unknown):
                    out[i] = f"has unknown category {s.iat[i]!r} in column {c!r}"
            for i in np.flatnonzero(na):
                out[i] = f"has a missing value in column {c!r}"
        return out

    # ------------------------------------------------------------------ encoding
    def _frame(self, items: Sequence[Any] | pd.DataFrame) -> pd.DataFrame:
        if isinstance(items, pd.DataFrame):
            return items
        return pd.DataFrame([i.to_dict() if isinstance(i, pd.Series) else i for i in items])

    def transform(self, items: Sequence[Any] | pd.DataFrame) -> np.ndarray:
        """The ``"standard"`` features before normalisation, float32 ``(n, d)``."""
        self._check_fitted()
        df = self._frame(items)
        blocks = []
        if self.numeric_:
            num = df[self.numeric_].to_numpy(dtype=np.float32)
            mean = np.array([self.mean_[c] for c in self.numeric_], dtype=np.float32)
            scale = np.array([self.scale_[c] for c in self.numeric_], dtype=np.float32)
            blocks.append((num - mean) / scale)
        w = np.float32(1 / math.sqrt(2))
        for c, cats in self.categories_.items():
            codes = pd.Categorical(df[c], categories=cats).codes
            onehot = np.zeros((len(df), len(cats)), dtype=np.float32)
            ok = codes >= 0
            onehot[np.flatnonzero(ok), codes[ok]] = w
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.zeros((len(df), 0), dtype=np.float32)

    def render(self, items: Sequence[Any] | pd.DataFrame) -> list[str]:
        """Rows as text for the ``"text"`` variant: ``"tenure: 34; contract: One year; ..."``."""
        self._check_fitted()
        df = self._frame(items)
        parts = []
        for c in self.columns_:
            label = c.replace("_", " ")
            vals = df[c].map(lambda v: f"{v:g}" if isinstance(v, (float, np.floating)) else str(v))
            parts.append(label + ": " + vals)
        text = parts[0]
        for p in parts[1:]:
            text = text + "; " + p
        return text.tolist()

    def encode(self, items: Sequence[Any] | pd.DataFrame) -> np.ndarray:
        """L2-normalised float32 ``(n, d)`` embeddings of the rows."""
        if self.variant == "text":
            if self.text_encoder is None:
                from fidelity.encoders.text import TextEncoder

                self.text_encoder = TextEncoder()
            return self.text_encoder.encode(self.render(items))
        return l2_normalise(self.transform(items))

    # ------------------------------------------------------------------ config
    def to_dict(self) -> dict[str, Any]:
        """Parameters and, once fitted, the learned state (so a loaded encoder behaves the same)."""
        d: dict[str, Any] = {
            "type": "tabular",
            "variant": self.variant,
            "columns": None if self.columns is None else list(self.columns),
            "categorical": list(self.categorical),
        }
        te = self.text_encoder
        if te is not None and hasattr(te, "to_dict"):
            d["text_encoder"] = te.to_dict()
        if hasattr(self, "columns_"):
            d["state"] = {
                "columns": self.columns_,
                "numeric": self.numeric_,
                "mean": self.mean_,
                "scale": self.scale_,
                "categories": {c: [_plain(v) for v in vs] for c, vs in self.categories_.items()},
            }
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TabularEncoder:
        d = dict(d)
        d.pop("type", None)
        state = d.pop("state", None)
        te = d.pop("text_encoder", None)
        if te is not None:
            from fidelity.encoders.text import TextEncoder

            te = dict(te)
            te.pop("type", None)
            d["text_encoder"] = TextEncoder(**te)
        enc = cls(**d)
        if state is not None:
            enc.columns_ = list(state["columns"])
            enc.numeric_ = list(state["numeric"])
            enc.mean_ = dict(state["mean"])
            enc.scale_ = dict(state["scale"])
            enc.categories_ = {c: list(v) for c, v in state["categories"].items()}
        return enc


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
