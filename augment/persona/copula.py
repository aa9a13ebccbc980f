"""A Gaussian copula over mixed numeric and categorical columns (numpy/scipy).

Each column's marginal is kept as observed (empirical quantiles for numbers, frequencies for
categories); the dependence between columns is a correlation matrix of normal scores. Fitted on a
segment's rows, with that correlation shrunk towards the whole table's when the segment is small,
it generates rows that look like the segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

_EPS = 1e-6


class _Marginal:
    """One column's distribution and its map to and from a standard normal score."""

    def __init__(self, values: pd.Series, categorical: bool) -> None:
        self.categorical = categorical
        if categorical:
            freq = values.value_counts(sort=True)
            self.categories = np.array(freq.index.tolist(), dtype=object)
            p = freq.to_numpy(dtype=np.float64) / freq.sum()
            self.upper = np.cumsum(p)
            self.upper[-1] = 1.0
            self.lower = np.concatenate([[0.0], self.upper[:-1]])
            self._code = {v: i for i, v in enumerate(self.categories.tolist())}
        else:
            self.sorted = np.sort(values.to_numpy(dtype=np.float64))

    def to_normal(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        if self.categorical:
            codes = values.map(self._code).to_numpy(dtype=np.int64)
            lo, hi = self.lower[codes], self.upper[codes]
            u = lo + rng.uniform(0.25, 0.75, size=len(codes)) * (hi - lo)
        else:
            u = (rankdata(values.to_numpy(dtype=np.float64)) - 0.5) / len(values)
        return ndtri(np.clip(u, _EPS, 1 - _EPS))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        if self.categorical:
            idx = np.searchsorted(self.upper, u, side="right").clip(0, len(self.categories) - 1)
            return self.categories[idx]
        n = len(self.sorted)
        # linear interpolation between order statistics: stays inside the observed range
        pos = np.clip(u * n - 0.5, 0, n - 1)
        return np.interp(pos, np.arange(n), self.sorted)


class GaussianCopula:
    """Segment-conditional Gaussian copula.

    Parameters
    ----------
    shrinkage:
        Pseudo-count of the whole-table correlation: the segment's correlation gets weight
        ``n / (n + shrinkage)``. Small segments borrow dependence structure from the table
        instead of trusting a noisy estimate; marginals always come from the segment itself.
    random_state:
        Seed of the jitter that places categories inside their normal-score intervals at fit time.
    """

    def __init__(self, shrinkage: float = 50.0, random_state: int = 0) -> None:
        self.shrinkage = shrinkage
        self.random_state = random_state

    def fit(
        self,
        data: pd.DataFrame,
        categorical: Sequence[str],
        population: pd.DataFrame | None = None,
    ) -> GaussianCopula:
        """Learn marginals and correlation from ``data`` (the segment); ``population`` (the whole
        table, same columns) supplies the correlation that small segments shrink towards."""
        if len(data) < 2:
            raise ValueError(f"a Gaussian copula needs at least 2 rows, got {len(data)}")
        rng = np.random.default_rng(self.random_state)
        cat = set(categorical)
        self.columns_ = list(data.columns)
        self.constants_: dict[str, Any] = {}
        self.marginals_: dict[str, _Marginal] = {}
        for col in self.columns_:
            if data[col].nunique(dropna=False) == 1:
                self.constants_[col] = data[col].iloc[0]
            else:
                self.marginals_[col] = _Marginal(data[col], col in cat)
        varying = list(self.marginals_)
        corr = self._correlation(data, varying, self.marginals_, rng)
        if population is not None and self.shrinkage > 0 and varying:
            pop_marg = {c: _Marginal(population[c], c in cat) for c in varying}
            pop_corr = self._correlation(population, varying, pop_marg, rng)
            w = len(data) / (len(data) + self.shrinkage)
            corr = w * corr + (1 - w) * pop_corr
        self.correlation_ = _nearest_correlation(corr)
        self.n_rows_ = len(data)
        return self

    @staticmethod
    def _correlation(
        data: pd.DataFrame, cols: list[str], marg: dict[str, _Marginal], rng: np.random.Generator
    ) -> np.ndarray:
        if not cols:
            return np.zeros((0, 0))
        z = np.column_stack([marg[c].to_normal(data[c], rng) for c in cols])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(z, rowvar=False) if len(cols) > 1 else np.ones((1, 1))
        corr = np.atleast_2d(np.nan_to_num(corr, nan=0.0))
        np.fill_diagonal(corr, 1.0)
        return corr

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` new rows, columns in fit order."""
        varying = list(self.marginals_)
        out: dict[str, Any] = {}
        if varying:
            chol = np.linalg.cholesky(self.correlation_)
            z = rng.standard_normal((n, len(varying))) @ chol.T
            u = ndtr(z)
            for j, col in enumerate(varying):
                out[col] = self.marginals_[col].from_uniform(u[:, j])
        for col, v in self.constants_.items():
            out[col] = np.full(n, v, dtype=object if isinstance(v, str) else None)
        return pd.DataFrame({c: out[c] for c in self.columns_})


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues so the matrix is a valid (positive definite) correlation."""
    if corr.size == 0:
        return corr
    corr = (corr + corr.T) / 2
    vals, vecs = np.linalg.eigh(corr)
    fixed = vecs @ np.diag(np.clip(vals, 1e-6, None)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)
