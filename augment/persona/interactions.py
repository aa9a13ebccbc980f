"""Plausible interaction logs (purchases, visits) for generated customers.

Learned from a real log with one row per event: a customer id, a time, and value columns (e.g.
CDNOW's ``number_of_cds`` and ``dollar_value``). A persona's log copies the *shape* of a real
customer's history drawn at random (how many events, when the first one happened) but not its
events: gaps between events are drawn from the pooled gaps of the template customers, event
values from a Gaussian copula of the template customers' events (so amounts keep their
distribution and their correlation with quantities). Events after the end of the real log's
window are cut, as they would be in a real extract. When the customer table links to the log
(an id column), templates come from the segment's own customers; and
:meth:`InteractionModel.generate_matched` draws each persona's log from its nearest real
customers by profile, so that what a segment buys, how often and how much carries over.
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
        out, keep = self._timeline(persona_ids, owner, counts, starts, draw, tpl)
        if self.value_columns_:
            cop = self._copula(key, customers)
            values = self.schema_.cast(cop.sample(total, rng))
            for c in self.value_columns_:
                out[c] = values[c].to_numpy()
        return out[keep].reset_index(drop=True)

    def generate_matched(
        self, persona_ids: Sequence[Any], neighbours: np.ndarray, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Events for each persona from its nearest real customers by profile.

        ``neighbours[i]`` holds the real customer ids (of this log) nearest to persona ``i``
        (:meth:`PersonaSynthesizer.interaction_log` finds them with the table's encoder). One
        of them, drawn at random, is the template: the persona gets its event count, its first
        day and its gaps between events in a random order (so the same frequency and span, on
        other dates); each event's values are those of a random event of a random neighbour,
        numbers moved by a Gaussian kernel (Silverman's bandwidth over the whole log) and kept
        within the log's range, so that no real event is copied as it is and a segment's
        spending, frequency and basket size carry over to its personas.
        """
        if not hasattr(self, "events_"):
            raise RuntimeError("InteractionModel is not fitted: call fit(log) first")
        index = pd.Index(self.customers_)
        nb = index.get_indexer(np.asarray(neighbours, dtype=object).ravel()).reshape(
            np.shape(neighbours)
        )
        if nb.ndim != 2 or len(nb) != len(persona_ids) or (nb < 0).any():
            raise ValueError("neighbours must be one row of customer ids of this log per persona")
        n, k = nb.shape
        tpl = nb[np.arange(n), rng.integers(k, size=n)]
        counts = self.count_[tpl]
        owner = np.repeat(np.arange(n), counts)
        total = int(counts.sum())
        # per customer: where its events (and gaps) start in the sorted event table
        ev_start = np.r_[0, np.cumsum(self.count_)[:-1]]
        gap_start = ev_start - np.arange(len(self.count_))
        # the template's own gaps in a random order: same count, same span, other dates
        starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
        later = np.ones(total, dtype=bool)
        later[starts] = False
        who = owner[later]
        rank = np.arange(len(who)) - np.repeat(np.r_[0, np.cumsum(counts - 1)[:-1]], counts - 1)
        shuffled = np.lexsort((rng.random(len(who)), who))
        draw = np.zeros(total, dtype=np.int64)
        draw[later] = self.gaps_[(gap_start[tpl[who]] + rank)[shuffled]]
        out, keep = self._timeline(persona_ids, owner, counts, starts, draw, tpl)
        if self.value_columns_:
            ev_src = nb[owner, rng.integers(k, size=total)]
            rows = ev_start[ev_src] + np.floor(rng.random(total) * self.count_[ev_src]).astype(
                np.int64
            )
            values = self.events_[self.value_columns_].iloc[rows].reset_index(drop=True)
            values = _smooth(values, self.events_[self.value_columns_], self.schema_, rng)
            for c in self.value_columns_:
                out[c] = values[c].to_numpy()
        return out[keep].reset_index(drop=True)

    def _timeline(
        self,
        persona_ids: Sequence[Any],
        owner: np.ndarray,
        counts: np.ndarray,
        starts: np.ndarray,
        gaps: np.ndarray,
        tpl: np.ndarray,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Each persona's events on the calendar: its template customer's first day, then the
        drawn ``gaps`` (one per event, 0 at each persona's first); the frame of customer and
        time columns, and which events fall inside the observed period."""
        day = np.cumsum(gaps)
        day = day - np.repeat(day[starts], counts) + np.repeat(self.first_day_[tpl], counts)
        keep = day <= self.end_day_
        out = pd.DataFrame({self.customer_column: np.asarray(persona_ids, dtype=object)[owner]})
        times = self.origin_ + pd.to_timedelta(day, unit="D")
        out[self.time_column] = (
            times.strftime("%Y%m%d").astype(np.int64) if self.int_dates_ else times
        )
        return out, keep

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


def _smooth(
    values: pd.DataFrame, real: pd.DataFrame, schema: Any, rng: np.random.Generator
) -> pd.DataFrame:
    """Resampled event values moved by a Gaussian kernel: each numeric column by
    ``1.06 * sd * n^(-1/5)`` (Silverman's rule over the real events), clipped to the real
    range, then cast to the column's type (whole numbers rounded); categories kept."""
    out = values.copy()
    cat = set(schema.of_kind("categorical"))
    n = max(len(real), 2)
    for c in values.columns:
        if c in cat or not pd.api.types.is_numeric_dtype(real[c]):
            continue
        col = real[c].to_numpy(dtype=np.float64)
        h = 1.06 * float(np.std(col)) * n ** (-0.2)
        moved = values[c].to_numpy(dtype=np.float64) + rng.normal(0.0, h, size=len(values))
        out[c] = np.clip(moved, col.min(), col.max())
    return schema.cast(out)


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
