"""Label preservation: does a classifier of the labelled sources still give the candidate its
source's label? (The LAMBADA filter, Anaby-Tavor et al. 2020.)

Three judges give a probability per label for a candidate:

* :class:`CrossFitJudge` (the default): logistic regression on the encoder's embeddings, cross-
  fitted in ``folds`` folds over the labelled sources, so that a candidate is judged by a model
  that never saw its source (a model that did would recognise the source's words in a close
  variant and vouch for it, whatever the variant says).
* :class:`KNNJudge`: a similarity-weighted vote of the ``k`` labelled sources closest to the
  candidate, its own source (and sources of its group) left out.
* :class:`ModelJudge`: any model with ``predict_proba`` (for example the model being fine-tuned),
  on the raw items or on the embeddings. It is not cross-fitted: if it was trained on the
  sources it has seen them.

Because they work on embeddings (or on a user model), the check serves any modality: texts,
images, table rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fidelity.checks.base import Check, Outcome, PairBatch, item_key
from fidelity.validation import text_problem
from fidelity.verdict import Reason, Verdict

log = logging.getLogger(__name__)


class LabelJudge:
    """Probability per label for candidates, given the fitted index of each one's source
    (``-1`` when the source is not among the fitted ones)."""

    name = ""
    #: True when the judge reads the encoder's embeddings, False when it reads the raw items
    uses_embeddings = True
    classes_: np.ndarray

    def fit(
        self, vectors: np.ndarray | None, labels: np.ndarray, groups: np.ndarray | None
    ) -> LabelJudge:
        raise NotImplementedError

    def proba(self, x: Any, source_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(p, known)``: probabilities ``(n, n_classes)`` in the order of ``classes_``, and a
        boolean ``(n, n_classes)`` mask of the labels the model that judged each row could
        predict at all."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {}


class CrossFitJudge(LabelJudge):
    """Logistic regression on embeddings, cross-fitted: one model per fold, trained on the
    sources outside that fold; a candidate of a fitted source is judged by its fold's model, a
    candidate of an unknown source by a model trained on all sources.

    Folds are stratified by label, and keep each group together when ``groups`` are given (use
    this when several labelled rows are versions of one original). ``C`` is the inverse L2
    penalty of scikit-learn's ``LogisticRegression``; embeddings are unit vectors, so the default
    penalty is weak enough for probabilities to move away from uniform.
    """

    name = "crossfit"

    def __init__(self, folds: int = 5, C: float = 10.0, random_state: int = 0) -> None:
        self.folds = folds
        self.C = C
        self.random_state = random_state

    def _model(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=2000)

    def fit(
        self, vectors: np.ndarray | None, labels: np.ndarray, groups: np.ndarray | None
    ) -> CrossFitJudge:
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        assert vectors is not None
        self.classes_ = np.unique(labels)
        sizes = pd.Series(labels).value_counts()
        n_min = int(sizes.min())
        # scikit-learn refuses more folds than the largest label has rows (a few-shot set)
        folds = max(2, min(self.folds, len(labels), int(sizes.max())))
        if n_min < folds:
            log.warning(
                "label check: the smallest label has %d labelled source(s), fewer than %d folds; "
                "its sources are judged by models that saw few or none of its rows",
                n_min,
                folds,
            )
        if groups is None:
            split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            parts = split.split(vectors, labels)
        else:
            split = StratifiedGroupKFold(folds, shuffle=True, random_state=self.random_state)
            parts = split.split(vectors, labels, groups)
        self.fold_of_ = np.full(len(labels), -1, dtype=np.int64)
        self.models_: list[Any] = []
        import warnings

        with warnings.catch_warnings():  # a fold missing a rare class warns; the mask handles it
            warnings.simplefilter("ignore")
            for f, (train, test) in enumerate(parts):
                self.fold_of_[test] = f
                self.models_.append(self._model().fit(vectors[train], labels[train]))
            self.full_ = self._model().fit(vectors, labels)
        return self

    def proba(self, x: np.ndarray, source_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, c = len(x), len(self.classes_)
        p = np.zeros((n, c))
        known = np.zeros((n, c), dtype=bool)
        which = np.where(source_index >= 0, self.fold_of_[source_index.clip(0)], -1)
        for f in np.unique(which):
            rows = np.flatnonzero(which == f)
            model = self.full_ if f < 0 else self.models_[f]
            cols = np.searchsorted(self.classes_, model.classes_)
            p[np.ix_(rows, cols)] = model.predict_proba(x[rows])
            known[np.ix_(rows, cols)] = True
        return p, known

    def params(self) -> dict[str, Any]:
        return {"folds": self.folds, "C": self.C, "random_state": self.random_state}


class KNNJudge(LabelJudge):
    """Similarity-weighted vote of the ``k`` labelled sources nearest to the candidate (cosine
    of the embeddings, negatives count zero), leaving out the candidate's own source and every
    source of its group."""

    name = "knn"

    def __init__(self, k: int = 10) -> None:
        self.k = k

    def fit(
        self, vectors: np.ndarray | None, labels: np.ndarray, groups: np.ndarray | None
    ) -> KNNJudge:
        assert vectors is not None
        self.classes_, self.codes_ = np.unique(labels, return_inverse=True)
        self.vectors_ = np.asarray(vectors, dtype=np.float32)
        self.groups_ = groups
        return self

    def proba(self, x: np.ndarray, source_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sims = np.asarray(x, dtype=np.float32) @ self.vectors_.T
        for r in np.flatnonzero(source_index >= 0):
            s = source_index[r]
            if self.groups_ is None:
                sims[r, s] = -np.inf
            else:
                sims[r, self.groups_ == self.groups_[s]] = -np.inf
        k = min(self.k, sims.shape[1] - 1) if sims.shape[1] > 1 else 1
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(sims, top, axis=1).clip(0.0, None)
        w[~np.isfinite(w)] = 0.0
        p = np.zeros((len(x), len(self.classes_)))
        np.add.at(p, (np.repeat(np.arange(len(x)), k), self.codes_[top].ravel()), w.ravel())
        total = p.sum(axis=1, keepdims=True)
        p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)
        return p, np.ones_like(p, dtype=bool)

    def params(self) -> dict[str, Any]:
        return {"k": self.k}


class ModelJudge(LabelJudge):
    """Any fitted model with ``predict_proba``: on the raw items (``inputs="items"``, e.g. the
    model being fine-tuned) or on the encoder's embeddings (``inputs="embeddings"``). Its labels
    are ``classes`` or the model's ``classes_``."""

    name = "model"

    def __init__(self, model: Any, inputs: str = "items", classes: Sequence[Any] | None = None):
        if not hasattr(model, "predict_proba"):
            raise TypeError(f"{type(model).__name__} has no predict_proba")
        if inputs not in ("items", "embeddings"):
            raise ValueError(f"inputs must be 'items' or 'embeddings', not {inputs!r}")
        self.model = model
        self.inputs = inputs
        self.classes = classes
        self.uses_embeddings = inputs == "embeddings"

    def fit(
        self, vectors: np.ndarray | None, labels: np.ndarray, groups: np.ndarray | None
    ) -> ModelJudge:
        classes = (
            self.classes if self.classes is not None else getattr(self.model, "classes_", None)
        )
        if classes is None:
            raise ValueError("the model has no classes_: pass classes=[...] in predict_proba order")
        self.classes_ = np.asarray(classes)
        return self

    def proba(self, x: Any, source_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(self.model.predict_proba(x), dtype=np.float64)
        if p.shape != (len(x), len(self.classes_)):
            raise ValueError(
                f"predict_proba gave shape {p.shape} for {len(x)} items and "
                f"{len(self.classes_)} classes"
            )
        return p, np.ones_like(p, dtype=bool)

    def params(self) -> dict[str, Any]:
        return {"inputs": self.inputs}


JUDGES: dict[str, type[LabelJudge]] = {"crossfit": CrossFitJudge, "knn": KNNJudge}


class LabelCheck(Check):
    """``label_shift`` when the judge no longer gives a candidate its source's label: another
    label is more likely, or the label's probability is below ``min_probability``.

    Fit it on the labelled sources (``FidelityFilter.fit(items, labels)`` does so with the
    filter's encoder). Each pair's label is the one passed to ``judge(..., labels=...)``, else
    the fitted label of its source (found by source id, else by content). Scores:
    ``label_probability`` (of the source's label), ``predicted_label`` and
    ``predicted_probability`` (the judge's most likely label and its probability).

    Parameters
    ----------
    judge:
        ``"crossfit"`` (default), ``"knn"``, or a :class:`LabelJudge`.
    model, inputs:
        A user model with ``predict_proba`` instead (see :class:`ModelJudge`).
    min_probability:
        Reject below this probability of the source's label even when it is still the most
        likely (0: the argmax rule alone). :func:`fidelity.calibrate_checks` derives it.
    folds, C, k, random_state:
        Passed to the cross-fitted or kNN judge.
    """

    name = "label"
    threshold_param = "min_probability"
    score_name = "label_probability"

    def __init__(
        self,
        judge: str | LabelJudge = "crossfit",
        min_probability: float = 0.0,
        *,
        model: Any = None,
        inputs: str = "items",
        folds: int = 5,
        C: float = 10.0,
        k: int = 10,
        random_state: int = 0,
    ) -> None:
        if not 0.0 <= float(min_probability) <= 1.0:
            raise ValueError(f"min_probability must be in [0, 1], got {min_probability!r}")
        self.min_probability = float(min_probability)
        self.folds, self.C, self.k, self.random_state = folds, C, k, random_state
        if model is not None:
            self.judge = ModelJudge(model, inputs)
        elif isinstance(judge, LabelJudge):
            self.judge = judge
        elif judge == "crossfit":
            self.judge = CrossFitJudge(folds, C, random_state)
        elif judge == "knn":
            self.judge = KNNJudge(k)
        elif judge == "model":
            raise ValueError("judge='model' needs the model: LabelCheck(model=clf)")
        else:
            raise ValueError(f"judge must be 'crossfit', 'knn' or a LabelJudge, not {judge!r}")

    @property
    def uses_embeddings(self) -> bool:  # type: ignore[override]
        return self.judge.uses_embeddings

    @property
    def fitted(self) -> bool:
        return hasattr(self, "labels_")

    @property
    def needs_fit(self) -> bool:
        return not self.fitted

    def fit(
        self,
        items: Sequence[Any] | pd.DataFrame,
        labels: Sequence[Any],
        *,
        ids: Sequence[Hashable] | None = None,
        groups: Sequence[Any] | None = None,
        encoder: Any = None,
    ) -> LabelCheck:
        """Learn from labelled sources: ``items[i]`` has ``labels[i]``; ``ids[i]`` is its source id
        (the ids ``judge(..., source_ids=...)`` will name; by default the item itself, or the
        frame's index for a DataFrame); ``groups[i]`` keeps related rows in one fold."""
        n = len(items)
        if len(labels) != n:
            raise ValueError(f"{n} items but {len(labels)} labels")
        if groups is not None and len(groups) != n:
            raise ValueError(f"{n} items but {len(groups)} groups")
        labels_arr = np.asarray(list(labels), dtype=object)
        if any(lab is None or (isinstance(lab, float) and math.isnan(lab)) for lab in labels_arr):
            bad = [i for i, lab in enumerate(labels_arr) if lab is None or lab != lab]
            raise ValueError(f"label missing for labelled source(s) at position {bad[:10]}")
        if len(set(labels_arr.tolist())) < 2:
            raise ValueError("the label check needs labelled sources of at least 2 labels")
        rows = [r for _, r in items.iterrows()] if isinstance(items, pd.DataFrame) else list(items)
        if ids is None:
            ids = list(items.index) if isinstance(items, pd.DataFrame) else None
        self.index_by_id_: dict[Hashable, int] = {}
        if ids is not None:
            if len(ids) != n:
                raise ValueError(f"{n} items but {len(ids)} ids")
            self.index_by_id_ = {sid: i for i, sid in enumerate(ids)}
        self.index_by_item_ = {item_key(r): i for i, r in enumerate(rows)}
        vectors = None
        if self.judge.uses_embeddings:
            if encoder is None:
                raise ValueError("the label check reads embeddings: pass the encoder to fit")
            validate = getattr(encoder, "validate", None) or text_problem
            bad = [(i, p) for i, r in enumerate(rows) if (p := validate(r)) is not None]
            if bad:
                shown = "; ".join(f"row {i} {p}" for i, p in bad[:5])
                raise ValueError(f"{len(bad)} labelled source(s) cannot be encoded: {shown}")
            vectors = encoder.encode(items)
        try:  # one label type for sorting and lookup (numbers stay numbers)
            labels_np = np.asarray(labels_arr.tolist())
        except ValueError:
            labels_np = labels_arr
        self.judge.fit(vectors, labels_np, None if groups is None else np.asarray(groups))
        self.labels_ = labels_np
        return self

    def source_index(self, source_ids: Sequence[Hashable], sources: Sequence[Any]) -> np.ndarray:
        """The fitted position of each pair's source (by id, else by content), -1 if unknown."""
        out = np.full(len(sources), -1, dtype=np.int64)
        for k, (sid, src) in enumerate(zip(source_ids, sources)):
            i = self.index_by_id_.get(sid) if _hashable(sid) else None
            if i is None:
                i = self.index_by_item_.get(item_key(src))
            if i is not None:
                out[k] = i
        return out

    def labels_for(self, source_ids: Sequence[Hashable], sources: Sequence[Any]) -> list[Any]:
        """The fitted label of each pair's source (None where the source is not known)."""
        idx = self.source_index(source_ids, sources)
        return [None if i < 0 else _plain(self.labels_[i]) for i in idx]

    def probabilities(self, batch: PairBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(p, known, source_index)`` for the batch's candidates."""
        if not self.fitted:
            raise RuntimeError(
                "the label check is not fitted: call FidelityFilter.fit(items, labels) (or "
                "LabelCheck.fit) on the labelled sources first"
            )
        idx = self.source_index(batch.source_ids, batch.sources)
        x = batch.candidate_vectors if self.judge.uses_embeddings else batch.candidates
        p, known = self.judge.proba(x, idx)
        return p, known, idx

    def judge_items(
        self,
        items: Sequence[Any] | pd.DataFrame,
        labels: Sequence[Any],
        encoder: Any = None,
        ids: Sequence[Hashable] | None = None,
    ) -> list[Verdict]:
        """Verdicts for items that have a label but no single source (e.g. generated personas
        and the segment they were made for): ``label_shift`` when the judge would not put the
        item in ``labels[i]``. ``ids[i]`` names a fitted source to leave out (default: an
        item equal to a fitted source is judged by a model that never saw it, any other by the
        model trained on all sources). Items are not validated here: pass rows the
        encoder can read (``SegmentFilter`` and ``FidelityFilter`` validate)."""
        from fidelity.checks.base import Embeddings, PairData

        rows = [r for _, r in items.iterrows()] if isinstance(items, pd.DataFrame) else list(items)
        n = len(rows)
        if len(labels) != n:
            raise ValueError(f"{n} items but {len(labels)} labels")
        index = items.index if isinstance(items, pd.DataFrame) else range(n)
        names = [f"row {i!r}" for i in index]
        sids: list[Hashable] = list(ids) if ids is not None else [("unfitted", i) for i in range(n)]
        data = PairData(rows, rows, names, list(labels), sids)
        pos = np.arange(n, dtype=np.int64)
        if self.judge.uses_embeddings:
            if encoder is None:
                raise ValueError("the label check reads embeddings: pass the encoder")
            vecs = encoder.encode(items)

            class _Fixed:  # the embeddings are already computed: hand them over as they are
                def encode(self, xs: Sequence[Any]) -> np.ndarray:
                    return vecs

            emb = Embeddings(lambda: _Fixed(), pos, data)
        else:
            emb = Embeddings(lambda: encoder, pos, data)
        outcomes = self(PairBatch(pos, data, emb))
        return [
            Verdict(math.nan, not o.rejected, o.reason or Reason.ACCEPTED, o.detail, o.scores)
            for o in outcomes
        ]

    def check_many(self, batch: PairBatch) -> list[Outcome]:
        p, known, idx = self.probabilities(batch)
        classes = self.judge.classes_
        col = {c: j for j, c in enumerate(classes.tolist())}
        given = batch.labels
        out: list[Outcome] = []
        for k in range(len(batch)):
            label = given[k] if given is not None else None
            if label is None and idx[k] >= 0:
                label = self.labels_[idx[k]]
            label = _plain(label)
            j_pred = int(np.argmax(p[k]))
            pred = _plain(classes[j_pred])
            scores = {
                "predicted_label": pred,
                "predicted_probability": float(p[k, j_pred]),
            }
            if label is None:
                out.append(Outcome(scores, None, "label not checked: the source has no label"))
                continue
            j = col.get(label)
            if j is None or not known[k, j]:
                out.append(
                    Outcome(
                        scores,
                        None,
                        f"label not checked: the judge never saw a source of label {label!r} "
                        "other than this one",
                    )
                )
                continue
            pl = float(p[k, j])
            scores["label_probability"] = pl
            if pred != label and p[k, j_pred] > pl:
                out.append(
                    Outcome(
                        scores,
                        Reason.LABEL_SHIFT,
                        f"label {label!r} (p={pl:.3f}) -> {pred!r} (p={p[k, j_pred]:.3f})",
                    )
                )
            elif pl < self.min_probability:
                out.append(
                    Outcome(
                        scores,
                        Reason.LABEL_SHIFT,
                        f"p({label!r})={pl:.3f} < {self.min_probability:.3f}",
                    )
                )
            else:
                out.append(Outcome(scores))
        return out

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {"min_probability": self.min_probability}
        if isinstance(self.judge, ModelJudge):
            d["judge"] = "model"  # the model itself is not serialised
        else:
            d["judge"] = self.judge.name
            d.update(self.judge.params())
        return d


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True
