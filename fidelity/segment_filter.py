"""The fidelity filter for generated rows: close enough to a segment, never a copy of a customer.

Generated rows (personas) have no single source, so the two-sided band is read per segment:

* similarity to the *closest real row of the segment* below ``min_similarity`` is ``drift``: the
  row does not look like any customer of the segment;
* distance to the *closest real row of the whole table* (DCR) below ``privacy_distance`` is
  ``near_duplicate``: the row is (nearly) a copy of a real customer.

Distances: with the ``"standard"`` encoder, Euclidean between the standardised features before
normalisation (z-scores, one-hot of weight 1/sqrt(2): one differing category adds exactly 1 to the
squared distance), the usual DCR of the synthetic-data literature; a bound below 1 can then only
be met by a real row with the same categories, so the search runs within groups of equal
categories and is fast. With the ``"text"`` encoder, Euclidean between normalised embeddings
(``sqrt(2 - 2 * cosine)``), by brute force.

Both bounds default to quantiles of the real data itself (leave-one-out nearest neighbours of real
rows): ``min_similarity`` rejects rows farther from the segment than all but ``drift_quantile`` of
its real members are from each other; ``privacy_distance`` rejects rows closer to a customer than
all but ``privacy_quantile`` of real customers are to their nearest *other distinct* customer
(exact duplicate rows left out, each sampled row held out from the rest: a holdout-to-train
distance; duplicates at distance 0 would otherwise pull the bound down to where near-copies
pass). An exact copy (distance below ``1e-6``) is always rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fidelity.band import Band
from fidelity.encoders.tabular import TabularEncoder
from fidelity.verdict import Reason, Verdict

#: Below this distance a row is an exact copy, whatever the calibrated bound says.
COPY_DISTANCE = 1e-6


class SegmentFilter:
    """Judges generated rows against one segment of a real table.

    Parameters
    ----------
    encoder:
        A fitted or unfitted :class:`fidelity.encoders.tabular.TabularEncoder` (default: the
        ``"standard"`` variant); it is fitted on the real table when not yet fitted.
    min_similarity, privacy_distance:
        Fixed bounds; ``None`` derives them from the data (see the module docstring).
    drift_quantile, privacy_quantile:
        The quantiles used when a bound is derived.
    max_calibration_rows:
        Real rows sampled (with ``random_state``) to derive the privacy bound.
    """

    def __init__(
        self,
        encoder: TabularEncoder | None = None,
        min_similarity: float | None = None,
        privacy_distance: float | None = None,
        drift_quantile: float = 0.01,
        privacy_quantile: float = 0.05,
        max_calibration_rows: int = 2_000,
        chunk_size: int = 2_048,
        random_state: int = 0,
    ) -> None:
        self.encoder = encoder
        self.min_similarity = min_similarity
        self.privacy_distance = privacy_distance
        self.drift_quantile = drift_quantile
        self.privacy_quantile = privacy_quantile
        self.max_calibration_rows = max_calibration_rows
        self.chunk_size = chunk_size
        self.random_state = random_state

    @property
    def name(self) -> str:
        return f"segment-filter({self._encoder().name})"

    def _encoder(self) -> TabularEncoder:
        if self.encoder is None:
            self.encoder = TabularEncoder()
        return self.encoder

    def fit(self, real: pd.DataFrame, segment: np.ndarray | Sequence[bool]) -> SegmentFilter:
        """Embed the real table, remember which rows are the segment, derive the bounds."""
        segment = np.asarray(segment, dtype=bool)
        if len(segment) != len(real):
            raise ValueError(f"segment mask has {len(segment)} entries for {len(real)} real rows")
        n_seg = int(segment.sum())
        if n_seg < 2:
            raise ValueError(f"the segment has {n_seg} real row(s): at least 2 are needed")
        enc = self._encoder()
        if not hasattr(enc, "columns_"):
            enc.fit(real)
        problems = enc.problems(real) if hasattr(enc, "problems") else [None] * len(real)
        bad = [(real.index[i], p) for i, p in enumerate(problems) if p]
        if bad:
            shown = "; ".join(f"row {r!r} {p}" for r, p in bad[:5])
            raise ValueError(f"{len(bad)} real row(s) cannot be encoded: {shown}")
        self.real_index_ = real.index.to_numpy()
        self.real_vectors_ = enc.encode(real)
        self.segment_rows_ = np.flatnonzero(segment)
        rng = np.random.default_rng(self.random_state)

        if self.min_similarity is None:
            seg = self.real_vectors_[self.segment_rows_]
            nearest = _nearest(seg, seg, self.chunk_size, exclude_self=True)[1]
            self.min_similarity_ = float(np.quantile(nearest, self.drift_quantile))
        else:
            self.min_similarity_ = float(self.min_similarity)
        self.index_ = _PrivacyIndex(enc).fit(real)
        if self.privacy_distance is None:
            self.real_dcr_, self.n_exact_duplicates_ = self._holdout_dcr(real, rng)
            bound = float(np.quantile(self.real_dcr_, self.privacy_quantile))
            self.privacy_distance_ = max(bound, COPY_DISTANCE)
        else:
            self.privacy_distance_ = max(float(self.privacy_distance), COPY_DISTANCE)
        return self

    def _holdout_dcr(self, real: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Distances of sampled real rows, each held out in turn, to the closest of the other
        *distinct* real rows, and how many real rows are exact copies of another.

        Exact duplicate rows are left out first: a customer whose twin is in the table is at
        distance 0 from it, and those zeros would pull the quantile (the privacy bound) down to
        where a persona that is nearly a copy still passes. What is left is a holdout-to-train
        distance: how far an unseen real customer is from the customers the table holds."""
        index = self.index_
        _, first = np.unique(index.matrix, axis=0, return_index=True)
        distinct = np.sort(first)
        n_dup = len(real) - len(distinct)
        if n_dup:
            index = index.subset(distinct)
        n = len(distinct)
        rows = rng.choice(n, size=min(n, self.max_calibration_rows), replace=False)
        vecs = None if index.raw else index.vectors_[rows]  # embeddings are not made again
        dcr = index.exact(real.iloc[distinct[rows]], self_rows=rows, vectors=vecs)[0]
        return dcr, n_dup

    @property
    def band(self) -> Band:
        """The segment band: ``min_similarity`` to the closest segment row (upper bound 1.0; the
        privacy bound is a distance, ``privacy_distance_``)."""
        return Band(self.min_similarity_, 1.0)

    def nearest(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per row: similarity to the closest segment row, and distance to (and position of) the
        closest real row of the whole table (``inf`` and -1 when, with the standard encoder, no
        real row shares its categories: the distance is then at least 1)."""
        vecs = self._encoder().encode(rows)
        seg_idx, seg_sim = _nearest(vecs, self.real_vectors_[self.segment_rows_], self.chunk_size)
        dcr, real_pos = self.index_.query(rows, self.privacy_distance_, vectors=vecs)
        labels = np.where(real_pos >= 0, self.real_index_[real_pos.clip(0)], None)
        return {
            "segment_similarity": seg_sim,
            "closest_segment_row": self.real_index_[self.segment_rows_[seg_idx]],
            "dcr": dcr,
            "closest_real_row": labels,
        }

    def distance_to_closest(self, rows: pd.DataFrame) -> np.ndarray:
        """Exact distance of each row to its closest real row (no ``inf``: rows whose categories
        match no real row are measured too). For reports; :meth:`judge` needs only the rows
        within the bound and is faster."""
        if not hasattr(self, "index_"):
            raise RuntimeError("SegmentFilter is not fitted: call fit(real_table, segment_mask)")
        return self.index_.exact(rows)[0]

    def distance_to(self, rows: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
        """Exact distance of each row to its closest row of ``reference`` (another set of rows:
        a holdout, a sample of the training rows), in the filter's DCR space."""
        if not hasattr(self, "index_"):
            raise RuntimeError("SegmentFilter is not fitted: call fit(real_table, segment_mask)")
        return _PrivacyIndex(self._encoder()).fit(reference).exact(rows)[0]

    def judge(self, rows: pd.DataFrame) -> list[Verdict]:
        """One verdict per row, in order: ``invalid`` (cannot be encoded), ``near_duplicate``
        (within the privacy bound of a real row), ``drift`` (too far from the segment) or
        ``accepted``. ``similarity`` is the similarity to the closest segment row."""
        if not hasattr(self, "real_vectors_"):
            raise RuntimeError("SegmentFilter is not fitted: call fit(real_table, segment_mask)")
        verdicts: list[Verdict | None] = [None] * len(rows)
        enc = self._encoder()
        problems = enc.problems(rows) if hasattr(enc, "problems") else [None] * len(rows)
        ok = np.array([p is None for p in problems], dtype=bool)
        for i in np.flatnonzero(~ok):
            verdicts[i] = Verdict.invalid(f"row {rows.index[i]!r} {problems[i]}")
        good = np.flatnonzero(ok)
        if len(good):
            near = self.nearest(rows.iloc[good])
            sim, dcr = near["segment_similarity"], near["dcr"]
            lo, bound = self.min_similarity_, self.privacy_distance_
            for k, i in enumerate(good):
                s = float(sim[k])
                if dcr[k] < bound:
                    verdicts[i] = Verdict(
                        s,
                        False,
                        Reason.NEAR_DUPLICATE,
                        f"distance {dcr[k]:.4f} to real row {near['closest_real_row'][k]!r} "
                        f"< privacy bound {bound:.4f}",
                    )
                elif s < lo:
                    verdicts[i] = Verdict(
                        s,
                        False,
                        Reason.DRIFT,
                        f"similarity {s:.3f} to the closest segment row < {lo:.3f}",
                    )
                else:
                    verdicts[i] = Verdict(s, True, Reason.ACCEPTED, "")
        return verdicts  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        enc = self._encoder()
        return {
            "encoder": enc.to_dict(),
            "min_similarity": self.min_similarity,
            "privacy_distance": self.privacy_distance,
            "drift_quantile": self.drift_quantile,
            "privacy_quantile": self.privacy_quantile,
            "max_calibration_rows": self.max_calibration_rows,
            "chunk_size": self.chunk_size,
            "random_state": self.random_state,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentFilter:
        d = dict(d)
        enc = d.pop("encoder", None)
        return cls(TabularEncoder.from_dict(enc) if enc else None, **d)


class _PrivacyIndex:
    """Distance to the closest real row (see the module docstring for which distance)."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        #: standardised features (raw space) for the "standard" encoder, embeddings otherwise
        self.raw = getattr(encoder, "variant", None) == "standard"

    def fit(self, real: pd.DataFrame) -> _PrivacyIndex:
        if self.raw:
            self.features_ = self.encoder.transform(real).astype(np.float64)
            self.sq_ = (self.features_**2).sum(axis=1)
            self.numeric_ = self._numeric(real)
            keys = self._keys(real)
            order = np.argsort(keys, kind="stable")
            self.order_ = order
            self.uniq_, self.starts_ = np.unique(keys[order], return_index=True)
            self.ends_ = np.r_[self.starts_[1:], len(order)]
        else:
            self.vectors_ = self.encoder.encode(real)
        return self

    @property
    def matrix(self) -> np.ndarray:
        """The searched rows: standardised features (standard encoder) or embeddings."""
        return self.features_ if self.raw else self.vectors_

    def subset(self, positions: np.ndarray) -> _PrivacyIndex:
        """An index over some of the rows, for :meth:`exact` (no re-encoding)."""
        sub = _PrivacyIndex(self.encoder)
        if self.raw:
            sub.features_, sub.sq_ = self.features_[positions], self.sq_[positions]
        else:
            sub.vectors_ = self.vectors_[positions]
        return sub

    def exact(
        self,
        rows: pd.DataFrame,
        self_rows: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
        chunk: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force distance to, and position of, each row's closest real row, whatever the
        categories (``self_rows``: the rows' own positions in the real table, left out)."""
        if not self.raw:
            vecs = self.encoder.encode(rows) if vectors is None else vectors
            idx, sim = _nearest(
                vecs, self.vectors_, chunk, exclude_self=self_rows is not None, self_rows=self_rows
            )
            return np.sqrt(np.clip(2 - 2 * sim.astype(np.float64), 0, None)), idx
        x = self.encoder.transform(rows).astype(np.float64)
        dist = np.empty(len(x))
        pos = np.empty(len(x), dtype=np.int64)
        for start in range(0, len(x), chunk):
            q = x[start : start + chunk]
            d2 = (q**2).sum(axis=1)[:, None] + self.sq_[None, :] - 2 * q @ self.features_.T
            if self_rows is not None:
                d2[np.arange(len(q)), self_rows[start : start + chunk]] = np.inf
            j = np.argmin(d2, axis=1)
            pos[start : start + chunk] = j
            dist[start : start + chunk] = np.sqrt(np.clip(d2[np.arange(len(q)), j], 0, None))
        return dist, pos

    def _numeric(self, rows: pd.DataFrame) -> np.ndarray:
        enc = self.encoder
        x = rows[enc.numeric_].to_numpy(dtype=np.float64)
        mean = np.array([enc.mean_[c] for c in enc.numeric_])
        scale = np.array([enc.scale_[c] for c in enc.numeric_])
        return (x - mean) / scale

    def _keys(self, rows: pd.DataFrame) -> np.ndarray:
        """One integer per row naming its combination of categories (mixed radix)."""
        key = np.zeros(len(rows), dtype=np.int64)
        for c, cats in self.encoder.categories_.items():
            codes = pd.Categorical(rows[c], categories=cats).codes.astype(np.int64)
            key = key * (len(cats) + 1) + (codes + 1)
        return key

    def query(
        self, rows: pd.DataFrame, bound: float, vectors: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance to, and position of, each row's closest real row, exact wherever it is below
        ``bound``: with the standard encoder and a bound below 1 only real rows with the same
        categories can be that close, so only those are searched (``inf`` and -1 elsewhere)."""
        if not self.raw or bound >= 1.0:
            return self.exact(rows, vectors=vectors)
        n = len(rows)
        dist = np.full(n, np.inf)
        pos = np.full(n, -1, dtype=np.int64)
        keys = self._keys(rows)
        num = self._numeric(rows)
        g = np.searchsorted(self.uniq_, keys).clip(0, len(self.uniq_) - 1)
        rows_hit = np.flatnonzero(self.uniq_[g] == keys)
        by_group = rows_hit[np.argsort(g[rows_hit], kind="stable")]
        groups, first = np.unique(g[by_group], return_index=True)
        bounds = np.r_[first, len(by_group)]
        for k, grp in enumerate(groups):
            q = by_group[bounds[k] : bounds[k + 1]]
            members = self.order_[self.starts_[grp] : self.ends_[grp]]
            d2 = ((num[q, None, :] - self.numeric_[None, members, :]) ** 2).sum(axis=2)
            j = np.argmin(d2, axis=1)
            dist[q] = np.sqrt(d2[np.arange(len(q)), j])
            pos[q] = members[j]
        return dist, pos


def _nearest(
    queries: np.ndarray,
    base: np.ndarray,
    chunk: int,
    exclude_self: bool = False,
    self_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index and cosine similarity of each query's most similar base row (brute force in
    chunks; vectors are normalised). ``exclude_self`` skips the query itself: query ``i`` is base
    row ``self_rows[i]`` (or ``i``)."""
    n = len(queries)
    idx = np.empty(n, dtype=np.int64)
    best = np.empty(n, dtype=np.float32)
    base_t = np.ascontiguousarray(base.T)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        sims = queries[start:stop] @ base_t
        if exclude_self:
            own = np.arange(start, stop) if self_rows is None else self_rows[start:stop]
            sims[np.arange(stop - start), own] = -math.inf
        idx[start:stop] = np.argmax(sims, axis=1)
        best[start:stop] = sims[np.arange(stop - start), idx[start:stop]]
    return idx, np.clip(best, -1.0, 1.0)
