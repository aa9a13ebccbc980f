"""Plausible interaction logs (purchases, visits) for generated customers.

Learned from a real log with one row per event: a customer id, a time, and value columns (e.g.
CDNOW's ``number_of_cds`` and ``dollar_value``). A persona's log copies the *shape* of a real
customer's history drawn at random (how many events, when the first one happened) but not its
events: gaps between events are drawn from the pooled gaps of the template customers, event
values from a Gaussian copula of the template customers' events (so amounts keep their
distribution and their correlation with quantities). Events after the end of the real log's
window are cut, as they would be in a real extract. When the customer table links to the log
(an id column), templates come from the segment's own customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from augment.persona.copula import GaussianCopula
from augment.persona.schema import check_table, infer_schema


class InteractionModel:
    """Per-customer event logs.

    Parameters
    ----------
    customer_column, time_column:
        The log's id and time columns. Times are dates (``YYYYMMDD`` integers, as in CDNOW, or
        anything ``pandas.to_datetime`` reads); generated times come back in the same form.
    shrinkage:
        Passed to the event-value copula (see :class:`GaussianCopula`).
    """

    def __init__(
        self,
        customer_column: str = "customer_id",
        time_column: str = "date",
        shrinkage: float = 50.0,
        random_state: int = 0,
    ) -> None:
        self.customer_column = customer_column
        self.time_column = time_column
        self.shrinkage = shrinkage
        self.random_state = random_state

    def fit(self, log: pd.DataFrame) -> InteractionModel:
        """Learn counts, first times, gaps and event values from a real log."""
        check_table(log)
        for col in (self.customer_column, self.time_column):
            if col not in log.columns:
                raise KeyError(
                    f"interaction log has no column {col!r} (columns: {list(log.columns)})"
                )
        if log.isna().any().any():
            bad = log.columns[log.isna().any()].tolist()
            rows = log.index[log.isna().any(axis=1)][:5].tolist()
            raise ValueError(f"interaction log has missing values in {bad} (rows {rows}, ...)")
        self.int_dates_ = pd.api.types.is_integer_dtype(log[self.time_column])
        times = _to_datetime(log[self.time_column], self.int_dates_, self.time_column)
        self.origin_ = times.min()
        self.end_day_ = int((times.max() - self.origin_).days)
        days = (times - self.origin_).dt.days.to_numpy()
        self.value_columns_ = [
            c for c in log.columns if c not in (self.customer_column, self.time_column)
        ]
        ev = log[self.value_columns_].reset_index(drop=True)
        ev["_customer"] = log[self.customer_column].to_numpy()
        ev["_day"] = days
        ev = ev.sort_values(["_customer", "_day"], kind="stable", ignore_index=True)
        self.events_ = ev
        self.schema_ = infer_schema(log[self.value_columns_]) if self.value_columns_ else None
        first = ev.groupby("_customer", sort=False)["_day"].agg(["size", "min"])
        self.customers_ = first.index.to_numpy()
        self.count_ = first["size"].to_numpy()
        self.first_day_ = first["min"].to_numpy()
        same = ev["_customer"].to_numpy()[1:] == ev["_customer"].to_numpy()[:-1]
        gaps = np.diff(ev["_day"].to_numpy())
        self.gap_owner_ = ev["_customer"].to_numpy()[1:][same]
        self.gaps_ = gaps[same]
        self._copulas: dict[Any, GaussianCopula] = {}
        return self

    def generate(
        self,
        persona_ids: Sequence[Any],
        rng: np.random.Generator,
        customers: Sequence[Any] | None = None,
    ) -> pd.DataFrame:
        """Events for each persona id; ``customers`` restricts the templates to these real
        customer ids (the segment's customers), else all customers of the log serve."""
        if not hasattr(self, "events_"):
            raise RuntimeError("InteractionModel is not fitted: call fit(log) first")
        pool = np.arange(len(self.customers_))
        gaps = self.gaps_
        key: Any = None
        if customers is not None:
            wanted = pd.Index(pd.unique(np.asarray(customers, dtype=object)))
            pool = np.flatnonzero(pd.Index(self.customers_).isin(wanted))
            if len(pool) == 0:
                raise ValueError("none of the segment's customers occurs in the interaction log")
            gaps = self.gaps_[pd.Index(self.gap_owner_).isin(wanted)]
            key = tuple(sorted(map(str, wanted)))
        if len(gaps) == 0:
            gaps = self.gaps_ if len(self.gaps_) else np.array([0])
        n = len(persona_ids)
        tpl = pool[rng.integers(len(pool), size=n)]
        counts = self.count_[tpl]
        owner = np.repeat(np.arange(n), counts)
        total = int(counts.sum())
        # day of each event: the template's first day, then pooled gaps
        draw = gaps[rng.integers(len(gaps), size=total)]
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        draw[starts] = 0
        day = np.cumsum(draw)
        day = day - np.repeat(day[starts], counts) + np.repeat(self.first_day_[tpl], counts)
        keep = day <= self.end_day_
        out = pd.DataFrame({self.customer_column: np.asarray(persona_ids, dtype=object)[owner]})
        times = self.origin_ + pd.to_timedelta(day, unit="D")
        out[self.time_column] = (
            times.strftime("%Y%m%d").astype(np.int64) if self.int_dates_ else times
        )
        if self.value_columns_:
            cop = self._copula(key, customers)
            values = self.schema_.cast(cop.sample(total, rng))
            for c in self.value_columns_:
                out[c] = values[c].to_numpy()
        return out[keep].reset_index(drop=True)

    def _copula(self, key: Any, customers: Sequence[Any] | None) -> GaussianCopula:
        if key not in self._copulas:
            ev = self.events_
            rows = ev if customers is None else ev[ev["_customer"].isin(list(customers))]
            if len(rows) < 2:
                rows = ev
            cat = self.schema_.of_kind("categorical")
            self._copulas[key] = GaussianCopula(self.shrinkage, self.random_state).fit(
                rows[self.value_columns_], cat, ev[self.value_columns_]
            )
        return self._copulas[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_column": self.customer_column,
            "time_column": self.time_column,
            "shrinkage": self.shrinkage,
            "random_state": self.random_state,
        }


def _to_datetime(s: pd.Series, int_dates: bool, name: str) -> pd.Series:
    try:
        if int_dates:
            return pd.to_datetime(s.astype(str), format="%Y%m%d")
        return pd.to_datetime(s)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"time column {name!r} holds values that are not dates: {exc}") from exc


def read_cdnow(path: str) -> pd.DataFrame:
    """The CDNOW purchase log (whitespace-separated: customer_id, date, number_of_cds,
    dollar_value), ids kept as text."""
    return pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str})
