"""SMOTE-NC style interpolation between a segment's customers (imbalanced-learn).

A new row lies on the segment between a real customer and one of its ``k_neighbors`` nearest
segment neighbours: numbers are interpolated, categories take the most common value among the
neighbours (SMOTE-NC, Chawla et al. 2002). Tables without categories use plain SMOTE, tables with
only categories SMOTE-N.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


class SmoteSampler:
    """Interpolating sampler with the same ``fit``/``sample`` interface as
    :class:`augment.persona.copula.GaussianCopula`.

    Parameters
    ----------
    k_neighbors:
        Neighbours per real row to interpolate towards (lowered to ``n - 1`` on small segments).
    """

    def __init__(self, k_neighbors: int = 5, random_state: int = 0) -> None:
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def fit(
        self,
        data: pd.DataFrame,
        categorical: Sequence[str],
        population: pd.DataFrame | None = None,
    ) -> SmoteSampler:
        """Remember the segment's rows (numbers standardised, categories coded); ``population`` is
        accepted for interface parity and not used: SMOTE only looks inside the segment."""
        if len(data) < 2:
            raise ValueError(f"SMOTE needs at least 2 rows to interpolate between, got {len(data)}")
        self.columns_ = list(data.columns)
        self.constants_: dict[str, Any] = {}
        self.categorical_: list[str] = []
        self.numeric_: list[str] = []
        self.categories_: dict[str, np.ndarray] = {}
        for col in self.columns_:
            if data[col].nunique(dropna=False) == 1:
                self.constants_[col] = data[col].iloc[0]
            elif col in set(categorical):
                self.categorical_.append(col)
            else:
                self.numeric_.append(col)
        num = data[self.numeric_].to_numpy(dtype=np.float64)
        self.mean_ = num.mean(axis=0)
        self.scale_ = num.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        codes = []
        for col in self.categorical_:
            cat = pd.Categorical(data[col])
            self.categories_[col] = np.array(cat.categories.tolist(), dtype=object)
            codes.append(cat.codes.astype(np.float64))
        cat_block = np.column_stack(codes) if codes else np.zeros((len(data), 0))
        self.X_ = np.hstack([(num - self.mean_) / self.scale_, cat_block])
        return self

    def _sampler(self, n_new: int, seed: int) -> Any:
        from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

        k = max(1, min(self.k_neighbors, len(self.X_) - 1))
        strategy = {1: len(self.X_) + n_new}
        n_num = len(self.numeric_)
        if not self.categorical_:
            return SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
        if not self.numeric_:
            return SMOTEN(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
        cat_idx = list(range(n_num, n_num + len(self.categorical_)))
        return SMOTENC(cat_idx, sampling_strategy=strategy, k_neighbors=k, random_state=seed)

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` new rows, columns in fit order."""
        out: dict[str, Any] = {}
        if self.numeric_ or self.categorical_:
            seed = int(rng.integers(2**31 - 1))
            # imbalanced-learn resamples one class against another; the segment is class 1, and a
            # single copy of its first row stands in for "the rest" (it is never interpolated).
            X = np.vstack([self.X_, self.X_[:1]])
            y = np.r_[np.ones(len(self.X_), dtype=int), 0]
            Xr, _ = self._sampler(n, seed).fit_resample(X, y)
            new = np.asarray(Xr[len(X) :], dtype=np.float64)
            n_num = len(self.numeric_)
            for j, col in enumerate(self.numeric_):
                out[col] = new[:, j] * self.scale_[j] + self.mean_[j]
            for j, col in enumerate(self.categorical_):
                codes = np.rint(new[:, n_num + j]).astype(np.int64)
                out[col] = self.categories_[col][codes]
        for col, v in self.constants_.items():
            out[col] = np.full(n, v, dtype=object if isinstance(v, str) else None)
        return pd.DataFrame({c: out[c] for c in self.columns_})
