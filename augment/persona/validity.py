"""Category combinations that real rows allow, learned from the table.

Telco-style tables hold logical links between columns: ``phone_service == 0`` exactly when
``multiple_lines == "No phone service"``, ``internet_service == "No"`` exactly when six service
columns read ``"No internet service"``. Samplers that draw categories jointly but not exactly
break such links now and then. :class:`CategoryLinks` finds

* exact links: value ``a`` of one column occurs in exactly the rows where value ``b`` of another
  does (each group of linked values gets one parent: the coarsest column, fewest values first);
* implications from a coarser to a finer column: every real row with ``phone_service == 0`` has
  ``internet_service == "DSL"`` (at least ``min_support`` rows);

and repairs generated rows to follow them (implications first, then links), keeping the coarser
column's distribution. Any pair of categories that still never occurs together in the table is
reported so the row can be rejected with a ``constraint`` verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Link:
    """``parent == parent_value`` exactly when (``exact``) or only when (an implication)
    ``child == child_value``."""

    parent: str
    parent_value: Any
    child: str
    child_value: Any
    exact: bool = True

    def __str__(self) -> str:
        arrow = "<=>" if self.exact else "=>"
        return (
            f"{self.parent} == {self.parent_value!r} {arrow} {self.child} == {self.child_value!r}"
        )


class CategoryLinks:
    """Exact links, implications and allowed pairs between categorical columns (fit on the whole
    table).

    Parameters
    ----------
    min_support:
        Real rows an implication must rest on before generated rows are repaired to follow it.
    """

    def __init__(self, min_support: int = 20) -> None:
        self.min_support = min_support

    def fit(self, df: pd.DataFrame, columns: Sequence[str]) -> CategoryLinks:
        self.columns_ = [c for c in columns if df[c].nunique() > 1]
        self.categories_ = {c: pd.unique(df[c]).tolist() for c in self.columns_}
        codes = {c: self._codes(df[c], c) for c in self.columns_}
        self.allowed_: dict[tuple[str, str], np.ndarray] = {}
        found: list[tuple[str, Any, str, Any]] = []
        implied: list[tuple[str, int, str, int]] = []
        order = {c: i for i, c in enumerate(self.columns_)}

        def rank(col: str) -> tuple[int, int]:
            return (len(self.categories_[col]), order[col])

        for a, b in combinations(self.columns_, 2):
            ka, kb = len(self.categories_[a]), len(self.categories_[b])
            table = np.bincount(codes[a] * kb + codes[b], minlength=ka * kb).reshape(ka, kb)
            self.allowed_[(a, b)] = table > 0
            na, nb = table.sum(axis=1), table.sum(axis=0)
            for i, j in zip(*np.nonzero(table), strict=True):
                if table[i, j] == na[i] == nb[j] and table[i, j] < len(df):
                    found.append((a, self.categories_[a][i], b, self.categories_[b][j]))
                elif rank(a) < rank(b) and table[i, j] == na[i] >= self.min_support:
                    implied.append((a, i, b, j))  # a == i only with b == j
                elif rank(b) < rank(a) and table[i, j] == nb[j] >= self.min_support:
                    implied.append((b, j, a, i))
        # Links form groups (internet_service == "No" and six "No internet service" columns);
        # each group gets one parent: the coarsest column (fewest values, then first in the table),
        # and every other member is its child.
        group: dict[tuple[str, Any], tuple[str, Any]] = {}

        def root(node: tuple[str, Any]) -> tuple[str, Any]:
            while group.get(node, node) != node:
                node = group[node]
            return node

        for a, va, b, vb in found:
            ra, rb = root((a, va)), root((b, vb))
            if ra != rb:
                group[rb] = ra
        members: dict[tuple[str, Any], list[tuple[str, Any]]] = {}
        for a, va, b, vb in found:
            for node in ((a, va), (b, vb)):
                members.setdefault(root(node), [])
                if node not in members[root(node)]:
                    members[root(node)].append(node)
        self.links_: list[Link] = []
        for nodes in members.values():
            nodes.sort(key=lambda nd: rank(nd[0]))
            parent = nodes[0]
            for child in nodes[1:]:
                self.links_.append(Link(parent[0], parent[1], child[0], child[1]))
        self.links_.sort(key=lambda lk: rank(lk.parent))
        imp = [
            Link(a, self.categories_[a][i], b, self.categories_[b][j], exact=False)
            for a, i, b, j in sorted(implied, key=lambda t: rank(t[0]))
        ]
        self.links_ = imp + self.links_
        return self

    def _codes(self, s: pd.Series, col: str) -> np.ndarray:
        cats = self.categories_[col]
        try:
            return pd.Categorical(s, categories=cats).codes.astype(np.int64)
        except (TypeError, ValueError):  # values of mixed types: slower, exact lookup
            lookup = {v: i for i, v in enumerate(cats)}
            return s.map(lookup).fillna(-1).to_numpy(dtype=np.int64)

    def repair(
        self, df: pd.DataFrame, segment: pd.DataFrame, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Make generated rows follow every link: where the parent has its value the child gets
        its partner value; where it does not, a child holding the partner value is redrawn from
        the segment's other values of that column."""
        df = df.copy()
        for lk in self.links_:
            if lk.parent not in df or lk.child not in df:
                continue
            on = (df[lk.parent] == lk.parent_value).to_numpy()
            df.loc[on, lk.child] = lk.child_value
            if not lk.exact:
                continue
            wrong = ~on & (df[lk.child] == lk.child_value).to_numpy()
            if wrong.any():
                pool = segment.loc[segment[lk.child] != lk.child_value, lk.child]
                if pool.empty:
                    pool = pd.Series([v for v in self.categories_[lk.child] if v != lk.child_value])
                if pool.empty:
                    continue
                df.loc[wrong, lk.child] = rng.choice(
                    pool.to_numpy(dtype=object), size=int(wrong.sum())
                )
        return df

    def unseen_pairs(self, df: pd.DataFrame) -> list[str | None]:
        """Per row, the first pair of categories that never occurs together in the table (in
        words), or None."""
        first_pair = np.full(len(df), -1, dtype=np.int64)
        pairs = [(a, b) for (a, b) in self.allowed_ if a in df and b in df]
        codes = {c: self._codes(df[c], c) for c in self.columns_ if c in df}
        for k, (a, b) in enumerate(pairs):
            ca, cb = codes[a], codes[b]
            known = (ca >= 0) & (cb >= 0)
            broken = ~self.allowed_[(a, b)][ca.clip(0), cb.clip(0)] | ~known
            first_pair[broken & (first_pair < 0)] = k
        out: list[str | None] = [None] * len(df)
        for i in np.flatnonzero(first_pair >= 0):
            a, b = pairs[first_pair[i]]
            va = self.categories_[a][codes[a][i]] if codes[a][i] >= 0 else df[a].iat[i]
            vb = self.categories_[b][codes[b][i]] if codes[b][i] >= 0 else df[b].iat[i]
            out[i] = f"{a} == {va!r} with {b} == {vb!r} occurs in no real row"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"links": [str(lk) for lk in getattr(self, "links_", [])]}
