"""How well personas' interaction logs follow their segment: per-customer log statistics of the
personas against the real segment's and, as the baseline, the whole population's.

A log that ignores the persona (every persona buys like anyone) scores the population's
figures; one that follows it scores the segment's. The statistics, per customer and then
averaged: events (frequency), days between events, the sum of every numeric value column
(spending, items bought) and its mean per event (basket size, amount per purchase).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def log_statistics(
    log: pd.DataFrame,
    customer_column: str,
    time_column: str,
    value_columns: Sequence[str] | None = None,
) -> pd.Series:
    """Mean per-customer figures of one log (see the module docstring), by name:
    ``events_per_customer``, ``days_between_events``, ``<col>_per_customer`` and
    ``<col>_per_event`` for each numeric value column (default: every numeric column but the
    id and time)."""
    if value_columns is None:
        value_columns = [
            c
            for c in log.columns
            if c not in (customer_column, time_column) and pd.api.types.is_numeric_dtype(log[c])
        ]
    by = log.groupby(customer_column, sort=False)
    out = {"customers": float(log[customer_column].nunique())}
    out["events_per_customer"] = float(by.size().mean()) if len(log) else np.nan
    times = log[time_column]
    if pd.api.types.is_integer_dtype(times):
        times = pd.to_datetime(times.astype(str), format="%Y%m%d")
    days = pd.Series(pd.to_datetime(times).to_numpy(), index=log.index)
    ordered = pd.DataFrame({"c": log[customer_column], "t": days}).sort_values(["c", "t"])
    gaps = ordered.groupby("c", sort=False)["t"].diff().dt.days.dropna()
    out["days_between_events"] = float(gaps.mean()) if len(gaps) else np.nan
    for c in value_columns:
        out[f"{c}_per_customer"] = float(by[c].sum().mean()) if len(log) else np.nan
        out[f"{c}_per_event"] = float(log[c].mean()) if len(log) else np.nan
    return pd.Series(out)


def compare_logs(
    synthetic: pd.DataFrame,
    real_segment: pd.DataFrame,
    population: pd.DataFrame,
    customer_column: str,
    time_column: str,
    synthetic_customer_column: str | None = None,
) -> pd.DataFrame:
    """One row per statistic: ``synthetic`` (the personas' log), ``real_segment``,
    ``population``, and ``follows_segment`` (the personas' figure is closer to the segment's
    than the population's is, or the two agree within 5 %)."""
    syn_col = synthetic_customer_column or customer_column
    values = [
        c
        for c in real_segment.columns
        if c not in (customer_column, time_column)
        and pd.api.types.is_numeric_dtype(real_segment[c])
        and c in synthetic.columns
    ]
    table = pd.DataFrame(
        {
            "synthetic": log_statistics(synthetic, syn_col, time_column, values),
            "real_segment": log_statistics(real_segment, customer_column, time_column, values),
            "population": log_statistics(population, customer_column, time_column, values),
        }
    )
    gap_syn = (table.synthetic - table.real_segment).abs()
    gap_pop = (table.population - table.real_segment).abs()
    table["follows_segment"] = (gap_syn <= gap_pop) | (gap_syn <= 0.05 * table.real_segment.abs())
    table = table.drop(index="customers").rename_axis("statistic").reset_index()
    return table.round(4)


def log_figures(table: pd.DataFrame) -> dict[str, float]:
    """The comparison as flat figures for a report: ``log_<statistic>_<synthetic|real_segment|
    population>`` and ``log_share_following_segment``."""
    out: dict[str, float] = {}
    for row in table.itertuples():
        for col in ("synthetic", "real_segment", "population"):
            out[f"log_{row.statistic}_{col}"] = float(getattr(row, col))
    out["log_share_following_segment"] = float(table.follows_segment.mean())
    return out


def segment_logs(
    synthesizer: Any, segment: Any, personas_log: pd.DataFrame, log: pd.DataFrame
) -> pd.DataFrame:
    """:func:`compare_logs` for a fitted synthesizer whose ``id_column`` links its table to
    ``log``: the personas' log against the log of the segment's real customers (those the
    synthesizer was fitted on) and the whole ``log``."""
    mask = segment.mask(synthesizer.real_)
    ids = synthesizer.table_[synthesizer.id_column].to_numpy()[mask]
    cust, time = synthesizer.log_customer_column, synthesizer.log_time_column
    real_segment = log[log[cust].isin(ids)]
    return compare_logs(personas_log, real_segment, log, cust, time, "persona_id")
