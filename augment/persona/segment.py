"""Which customers a persona run is about: column values (``{"senior_citizen": 1}``) or a rule
(``"tenure < 6 and contract == 'Month-to-month'"``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from augment.persona.expression import parse


@dataclass(frozen=True)
class Segment:
    """A subset of customers.

    ``values`` maps a column to one value or a list of allowed values; ``rule`` is a boolean
    expression over the columns in the grammar of :mod:`augment.persona.expression` (checked when
    the segment is made: anything outside it is refused before it runs). Both may be given; a row
    is in the segment when it satisfies all of them.
    """

    values: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    rule: str | None = None

    def __post_init__(self) -> None:
        if self.rule is not None:
            parse(self.rule, "segment rule")

    @classmethod
    def of(cls, spec: SegmentSpec) -> Segment:
        """A Segment from a mapping of column values, a rule string, or a Segment."""
        if isinstance(spec, Segment):
            return spec
        if isinstance(spec, str):
            if not spec.strip():
                raise ValueError("the segment rule is empty")
            return cls(rule=spec)
        if isinstance(spec, Mapping):
            if not spec:
                raise ValueError(
                    "the segment has no column values: pass e.g. {'senior_citizen': 1}"
                )
            vals = []
            for col, v in spec.items():
                many = isinstance(v, (list, tuple, set, frozenset, np.ndarray))
                vals.append((str(col), tuple(v) if many else (v,)))
            return cls(values=tuple(vals))
        raise TypeError(
            f"a segment is a mapping of column values or a rule string, not {type(spec).__name__}"
        )

    @property
    def name(self) -> str:
        parts = []
        for col, vs in self.values:
            parts.append(f"{col} == {vs[0]!r}" if len(vs) == 1 else f"{col} in {list(vs)!r}")
        if self.rule:
            parts.append(f"({self.rule})" if parts else self.rule)
        return " and ".join(parts)

    def mask(self, df: pd.DataFrame, strict: bool = True) -> np.ndarray:
        """Boolean array: which rows of ``df`` are in the segment.

        Unknown columns are errors, and (with ``strict``, for the real table) so are values the
        column never takes: they would select no one silently. So is a rule that does not
        evaluate to one boolean per row.
        """
        m = np.ones(len(df), dtype=bool)
        for col, vs in self.values:
            if col not in df.columns:
                raise KeyError(
                    f"segment column {col!r} is not in the table (columns: {list(df.columns)})"
                )
            present = pd.unique(df[col].dropna())
            unknown = [v for v in vs if not _isin(v, present)] if strict else []
            if unknown:
                shown = sorted(present.tolist(), key=str)[:20]
                raise ValueError(
                    f"segment value(s) {unknown!r} never occur in column {col!r} "
                    f"(values there: {shown})"
                )
            m &= df[col].isin(list(vs)).to_numpy()
        if self.rule:
            m &= parse(self.rule, "segment rule").condition(df, "segment rule")
        return m

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": {c: (list(v) if len(v) > 1 else v[0]) for c, v in self.values},
            "rule": self.rule,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        values = cls.of(d["values"]).values if d.get("values") else ()
        return cls(values=values, rule=d.get("rule"))


SegmentSpec = Segment | str | Mapping[str, Any]


def _isin(v: Any, present: np.ndarray) -> bool:
    return any(v == p for p in present.tolist())
