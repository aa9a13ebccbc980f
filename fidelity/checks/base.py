"""What every check of the fidelity filter provides, and the batch of pairs it is handed.

A check scores a whole batch of (source, candidate) pairs at once, the way TextAttack's
``Constraint.call_many`` does: the filter hands each check, in order, only the pairs that no
earlier check has rejected, and the check returns one :class:`Outcome` per pair (the scores it
computed, and a reason when it rejects). A subclass writes only :meth:`Check.check_many`; the
base class times it, checks that it answered for every pair, and registers it by ``name`` so
that configs can name it (``checks=["band", "siblings", "label"]``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fidelity.band import Band
from fidelity.verdict import Reason

#: name -> Check subclass, filled by ``Check.__init_subclass__``.
REGISTRY: dict[str, type[Check]] = {}


@dataclass
class Outcome:
    """One check's answer for one pair: its scores, and ``reason`` when it rejects the pair.

    ``detail`` says why in words when rejected; on a pair that passes it is a note (e.g. "label
    not checked: ...") that ends up in the verdict's detail.
    """

    scores: dict[str, Any] = field(default_factory=dict)
    reason: Reason | None = None
    detail: str = ""

    @property
    def rejected(self) -> bool:
        return self.reason is not None


class Embeddings:
    """Embeddings of all scorable pairs of one ``judge`` call, computed on first use.

    Sources are encoded first (an encoder with a cache then sends a source with many candidates
    to the model once), and only when some check asks, so a filter whose checks need no
    embeddings never loads the encoder.
    """

    def __init__(self, encoder_factory: Callable[[], Any], rows: np.ndarray, pairs: PairData):
        self._factory = encoder_factory
        self._rows = rows
        self._pairs = pairs
        self._pos = {int(r): k for k, r in enumerate(rows)}
        self._src: np.ndarray | None = None
        self._cand: np.ndarray | None = None
        self._sim: np.ndarray | None = None

    @property
    def computed(self) -> bool:
        return self._sim is not None

    @property
    def encoder(self) -> Any:
        return self._factory()

    def _compute(self) -> None:
        if self._sim is not None:
            return
        enc = self._factory()
        self._src = enc.encode([self._pairs.sources[i] for i in self._rows])
        self._cand = enc.encode([self._pairs.candidates[i] for i in self._rows])
        self._sim = np.einsum("ij,ij->i", self._src, self._cand).clip(-1.0, 1.0)

    def _take(self, arr_name: str, rows: np.ndarray) -> np.ndarray:
        self._compute()
        arr = getattr(self, arr_name)
        return arr[[self._pos[int(r)] for r in rows]]

    def sources(self, rows: np.ndarray) -> np.ndarray:
        return self._take("_src", rows)

    def candidates(self, rows: np.ndarray) -> np.ndarray:
        return self._take("_cand", rows)

    def similarity(self, rows: np.ndarray) -> np.ndarray:
        return self._take("_sim", rows)

    def similarity_of(self, row: int) -> float:
        """Similarity of one pair if the embeddings were computed, else NaN."""
        if self._sim is None or int(row) not in self._pos:
            return math.nan
        return float(self._sim[self._pos[int(row)]])


@dataclass
class PairData:
    """All pairs of one ``judge`` call, by position."""

    sources: list[Any]
    candidates: list[Any]
    names: list[str]
    labels: list[Any] | None
    source_ids: list[Hashable]


@dataclass
class PairBatch:
    """The still-undecided pairs a check sees.

    ``rows`` are positions in the ``judge`` call (so a check can name a pair, or relate it to
    another pair of the call); ``sources``, ``candidates``, ``names``, ``labels`` (the source's
    label per pair, or None when the call gave none) and ``source_ids`` are per pair of this batch.
    Embeddings come from the filter's encoder through ``source_vectors``, ``candidate_vectors``
    and ``similarity``; ``band`` is the filter's band (checks that default to its bounds read it).
    """

    rows: np.ndarray
    data: PairData
    embeddings: Embeddings
    band: Band = field(default_factory=Band)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def sources(self) -> list[Any]:
        return [self.data.sources[i] for i in self.rows]

    @property
    def candidates(self) -> list[Any]:
        return [self.data.candidates[i] for i in self.rows]

    @property
    def names(self) -> list[str]:
        return [self.data.names[i] for i in self.rows]

    @property
    def labels(self) -> list[Any] | None:
        if self.data.labels is None:
            return None
        return [self.data.labels[i] for i in self.rows]

    @property
    def source_ids(self) -> list[Hashable]:
        return [self.data.source_ids[i] for i in self.rows]

    @property
    def encoder(self) -> Any:
        return self.embeddings.encoder

    @property
    def source_vectors(self) -> np.ndarray:
        return self.embeddings.sources(self.rows)

    @property
    def candidate_vectors(self) -> np.ndarray:
        return self.embeddings.candidates(self.rows)

    @property
    def similarity(self) -> np.ndarray:
        return self.embeddings.similarity(self.rows)


@dataclass
class CheckStats:
    """Pairs scored and seconds spent, for candidates/s figures."""

    pairs: int = 0
    seconds: float = 0.0
    calls: int = 0

    @property
    def per_second(self) -> float:
        return self.pairs / self.seconds if self.seconds > 0 else math.nan


class Check:
    """One judge of (source, candidate) pairs. Subclasses set ``name`` and write
    :meth:`check_many`; a check that learns from labelled sources also writes :meth:`fit`.

    Checks that derive a threshold from data name it in ``threshold_param`` and the score it
    bounds from below in ``score_name`` (see :func:`fidelity.calibrate_checks`).
    """

    name: ClassVar[str] = ""
    #: whether the check reads the filter's embeddings (the filter then encodes the pairs)
    uses_embeddings: bool = True

    #: the parameter a calibration sets, and the score whose low tail it cuts
    threshold_param: ClassVar[str | None] = None
    score_name: ClassVar[str | None] = None

    @property
    def needs_fit(self) -> bool:
        """True while the check still has to learn from labelled sources (:meth:`fit`)."""
        return False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.name:
            REGISTRY[cls.name] = cls

    @property
    def stats(self) -> CheckStats:
        if not hasattr(self, "_stats"):
            self._stats = CheckStats()
        return self._stats

    def fit(
        self,
        items: Sequence[Any] | pd.DataFrame,
        labels: Sequence[Any],
        *,
        ids: Sequence[Hashable] | None = None,
        groups: Sequence[Any] | None = None,
        encoder: Any = None,
    ) -> Check:
        """Learn from labelled sources (most checks need nothing and return themselves)."""
        return self

    def check_many(self, batch: PairBatch) -> list[Outcome]:
        """One :class:`Outcome` per pair of ``batch``, in order."""
        raise NotImplementedError

    def __call__(self, batch: PairBatch) -> list[Outcome]:
        if len(batch) == 0:
            return []
        t0 = time.perf_counter()
        out = self.check_many(batch)
        st = self.stats
        st.seconds += time.perf_counter() - t0
        st.pairs += len(batch)
        st.calls += 1
        if len(out) != len(batch):
            raise RuntimeError(
                f"check {self.name!r} answered {len(out)} outcomes for {len(batch)} pairs"
            )
        return out

    def params(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this check (plain data)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def make_check(spec: Check | str | dict[str, Any]) -> Check:
    """A check from an instance, a registered name (``"label"``), or ``{"name": ..., **params}``."""
    if isinstance(spec, Check):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise TypeError(f"a check is a Check, a name or a mapping with a 'name' key, not {spec!r}")
    params = dict(spec)
    name = params.pop("name")
    if name not in REGISTRY:
        raise ValueError(f"unknown check {name!r} (known: {sorted(REGISTRY)})")
    return REGISTRY[name](**params)


def item_key(item: Any) -> Hashable:
    """A hashable key naming an item (a text, an image array, a table row) by its content."""
    if isinstance(item, np.ndarray):
        return ("ndarray", item.shape, item.dtype.str, item.tobytes())
    if isinstance(item, pd.Series):
        item = item.to_dict()
    if isinstance(item, dict):
        return ("row", tuple(sorted((str(k), repr(v)) for k, v in item.items())))
    try:
        hash(item)
    except TypeError:
        return ("repr", repr(item))
    return item


def join(a: str, b: str) -> str:
    """Two notes as one detail."""
    if not a:
        return b
    return f"{a}; {b}" if b else a
