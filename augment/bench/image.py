"""Downstream image benchmark: what contrast and contrast+rotation augmentation, with and
without the fidelity filter, does to a small CNN trained on a few chest X-rays per class.

Data: PneumoniaMNIST (28x28 grayscale, label 0 normal, 1 pneumonia). For every seed one
permutation of each class's training rows is drawn, and a ``k``-shot sample is its first ``k``
rows (``k`` in ``shots``): the samples of one seed are nested, so the 10-shot rows are among the
50-shot rows. Every model is scored on the whole official test set (624 images).

Arms (every one starts from the same sampled originals of a seed and size):

``none``                            the originals alone.
``duplicated``                      every original repeated ``1 + n_variants`` times: as many rows
                                    as an unfiltered arm and nothing new (the control that shows
                                    whether more rows alone is the gain).
``contrast``                        originals + ``n_variants`` variants per original from the
                                    contrast family (brightness/contrast and gamma).
``contrast_filtered``               originals + the contrast variants the fidelity filter kept.
``contrast_size_matched``           originals + as many contrast variants as the filter kept,
                                    drawn at random: the filter is credited only for *which*
                                    variants it keeps, not for keeping fewer.
``contrast_rotation``, ...          the same three with the ``xray`` preset (the contrast family
                                    plus a rotation of up to 7 degrees with a little zoom).

Variant ``v`` of training image ``i`` has the seed ``sample_seed(random_state, i, v)``: the same
image gets the same variants in every seed and size, so its variants are made, and embedded by
the filter, once.

The classifier is a small CNN in plain torch on the CPU with fixed hyperparameters (see
:class:`ImageBenchmark`), trained for the same number of gradient steps on every arm (batches are
drawn with replacement, half of each class), so an arm with more rows does not get more training.
Unlike the text benchmark there is no cross-validated tuning here: the CNN's settings are fixed
and the same for every arm, and that is the control. Metrics: accuracy (pneumonia probability at
0.5) and AUC of the pneumonia probability.

Optionally (``models``), a pretrained classifier is trained on the same arms: EfficientNet-Lite0
with its last block and head fine-tuned (:mod:`augment.bench.image_lite0`), also for a fixed
number of steps. And optionally (``corrupted``) every model is also scored on the MedMNIST-C
acquisition corruptions of the test images (:mod:`augment.bench.corruptions`), one data set per
corruption family, so the tables show which augmentation buys which robustness
(:mod:`augment.bench.image_robustness` writes the report).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augment.augmenter import judge, make_candidates, raise_errors, variant_requests
from augment.bench.arms import originals, standard_arms
from augment.bench.balanced_training import fit_balanced, seeded_rng
from augment.bench.results import BenchResult, Trial
from augment.bench.tuning import TrainingSet
from augment.candidate import Source
from fidelity.filter import FidelityFilter
from fidelity.progress import progress

#: The augmentation families, in the order reported.
FAMILIES = ("contrast", "contrast_rotation")
#: Arms in the order they are reported.
ARMS = (
    "none",
    "duplicated",
    *(f"{f}{s}" for f in FAMILIES for s in ("", "_filtered", "_size_matched")),
)
#: Comparisons reported with intervals: every arm against ``none``, and each filtered arm against
#: its size-matched control.
PAIRS = tuple((a, "none") for a in ARMS[1:]) + tuple(
    (f"{f}_filtered", f"{f}_size_matched") for f in FAMILIES
)
DATASET = "pneumoniamnist"
#: The classifiers: the small CNN trained from scratch, and the pretrained EfficientNet-Lite0
#: with its last block and head fine-tuned (:mod:`augment.bench.image_lite0`).
MODELS = ("cnn", "lite0")


def corrupted_dataset(family: str) -> str:
    """The data set name of a corruption family's test set in the results."""
    return f"{DATASET}-c/{family}"


#: Constructor overrides of the quick mode (``augment bench image --quick``): one shot size, two
#: seeds, two variants per image and family, a shorter training (and, where the run has them, a
#: shorter Lite0 fine-tuning and a corrupted test set of 20 images per class at severities 1, 3
#: and 5): a smoke test of the whole benchmark (about a minute on 2 busy CPU cores), not a
#: result to draw conclusions from.
QUICK: dict[str, Any] = {
    "shots": (10,),
    "seeds": 2,
    "n_variants": 2,
    "steps": 50,
    "lite0": {"steps": 40},
    "corrupted_per_class": 20,
    "severities": (1, 3, 5),
}


def family_pipelines() -> dict[str, Any]:
    """The two augmentation families as image pipelines.

    ``contrast``: brightness/contrast (up to 10% either way) and gamma (0.85..1.15), the
    ``xray`` preset's contrast part; CLAHE stays off because its 8x8 tiles are 3 pixels wide on
    28x28 images (see :mod:`augment.image.presets`). ``contrast_rotation``: the ``xray`` preset
    (the same contrast part, then a rotation of up to 7 degrees with 0.95..1.05 zoom and
    replicated borders). No flips: laterality matters on a chest film.
    """
    from augment.image import ImagePipeline, contrast

    return {
        "contrast": ImagePipeline(contrast(0.1, 0.1, gamma=(85, 115)), name="contrast"),
        "contrast_rotation": ImagePipeline.from_preset("xray"),
    }


def data_file(data: str | Path) -> Path:
    """The PneumoniaMNIST ``.npz``: ``data`` itself, or ``image/pneumoniamnist.npz`` (or
    ``pneumoniamnist.npz``) in the folder ``data`` (passed in: the package knows no data
    location)."""
    path = Path(data)
    if path.is_dir():
        for candidate in (path / "image" / "pneumoniamnist.npz", path / "pneumoniamnist.npz"):
            if candidate.is_file():
                return candidate
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: PneumoniaMNIST npz not found (pass the .npz or the shared data folder "
            "holding image/pneumoniamnist.npz)"
        )
    return path


def load_pneumoniamnist(data: str | Path) -> dict[str, np.ndarray]:
    """Training and test images (uint8 ``(n, 28, 28)``) and labels (flat ``(n,)``) from
    :func:`data_file` ``(data)``."""
    path = data_file(data)
    with np.load(path) as d:
        out = {k: d[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}
    for k in ("train_labels", "test_labels"):
        out[k] = out[k].reshape(-1).astype(np.int64)
    return out


def nested_samples(
    labels: np.ndarray, shots: Sequence[int], rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """Training-row indices of each ``k``-shot sample: one permutation per class, its first
    ``k`` rows, so smaller samples are inside larger ones. Rows are class 0's, then class 1's."""
    most = max(shots)
    perms = []
    for c in np.unique(labels):
        pool = np.flatnonzero(labels == c)
        if len(pool) < most:
            raise ValueError(f"class {c} has {len(pool)} training rows, fewer than {most}")
        perms.append(rng.permutation(pool)[:most])
    return {k: np.concatenate([p[:k] for p in perms]) for k in shots}


@dataclass
class ImageBenchmark:
    """PneumoniaMNIST few-shot, benchmarked arm by arm.

    Parameters
    ----------
    data:
        The PneumoniaMNIST ``.npz`` (``train_images``/``train_labels``,
        ``test_images``/``test_labels``), or a folder holding ``image/pneumoniamnist.npz``
        (see :func:`data_file`).
    shots:
        Training images per class of each sample size.
    seeds:
        How many samples (and CNN initialisations) per size.
    n_variants:
        Variants per training image and augmentation family. Each one is embedded by the filter
        (EfficientNet-Lite0 at 224x224, about 12 images/s on one CPU thread), so this, times
        ``2 * max(shots) * seeds``, is what the run costs: 2 keeps the full run near half an
        hour on 2 shared CPU cores (docs/benchmarks/downstream_image.md); more is better
        where there is time (or a GPU).
    steps, batch_size, lr, weight_decay, width:
        The CNN (:func:`small_cnn` of ``width``) and its training: Adam for ``steps`` gradient
        steps on batches of ``batch_size`` drawn with replacement, half from each class; the
        same for every arm. 120 steps of 32 are 192 passes over a 10-shot sample and 19 over a
        100-shot one.
    models:
        Classifiers to train on every arm: ``"cnn"`` (the settings above) and/or ``"lite0"``
        (:class:`augment.bench.image_lite0.Lite0Settings` in ``lite0``).
    lite0:
        The fine-tuning of the ``lite0`` model: a :class:`Lite0Settings` or a dict of its fields
        (default: 150 Adam steps of 32 at lr 1e-3 on 64 px inputs).
    corrupted:
        Also score every model on the MedMNIST-C corruptions of the test set
        (:mod:`augment.bench.corruptions`), one data set per family
        (:func:`corrupted_dataset`), its intervals resampling test images (clusters of their
        corrupted copies). The clean test set is scored as always.
    corrupted_per_class:
        Test images per class that are corrupted (drawn once from ``random_state``); ``None``:
        all 624. Every corruption at every one of ``severities`` of each.
    fidelity_filter:
        The filter of the ``*_filtered`` arms; default: ``RECOMMENDED_BAND`` with the default
        :class:`fidelity.ImageEncoder` (a cache large enough to hold every image of the run).
    random_state:
        Seeds the variants (with each image's index) and, with each seed, the samples and models.
    show_progress:
        Progress bar over (seed, size); ``None`` shows one on a terminal.
    """

    data: str | Path
    shots: Sequence[int] = (10, 50, 100)
    seeds: int = 10
    n_variants: int = 2
    steps: int = 120
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 8
    models: Sequence[str] = ("cnn",)
    lite0: Any = None
    corrupted: bool = False
    corrupted_per_class: int | None = None
    severities: Sequence[int] = (1, 2, 3, 4, 5)
    fidelity_filter: FidelityFilter | None = None
    random_state: int = 0
    show_progress: bool | None = None
    _variants: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, list[str]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _trunk: Any = field(default=None, init=False, repr=False)

    def _check(self) -> None:
        if not self.shots or min(self.shots) < 1:
            raise ValueError(f"shots must be positive images per class, got {self.shots!r}")
        if self.seeds < 1 or self.n_variants < 1 or self.steps < 1 or self.batch_size < 2:
            raise ValueError("seeds, n_variants and steps must be at least 1, batch_size 2")
        unknown = set(self.models) - set(MODELS)
        if not self.models or unknown:
            raise ValueError(f"models must be among {MODELS}, got {tuple(self.models)!r}")

    def filter(self) -> FidelityFilter:
        if self.fidelity_filter is None:
            from fidelity.encoders.image import RECOMMENDED_BAND, ImageEncoder

            self.fidelity_filter = FidelityFilter.from_band(
                RECOMMENDED_BAND, ImageEncoder(cache_size=50_000)
            )
        return self.fidelity_filter

    def run(self, result: BenchResult | None = None) -> BenchResult:
        """Train and score every (size, seed, arm); adds to ``result`` when given."""
        self._check()
        path = data_file(self.data)
        d = load_pneumoniamnist(path)
        flt = self.filter()
        pipes = family_pipelines()
        result = result or new_result()
        result.truth[DATASET] = d["test_labels"]
        result.meta.setdefault("datasets", {})[DATASET] = {
            "data": str(path),
            "train_rows": len(d["train_labels"]),
            "test_rows": len(d["test_labels"]),
            "test_positive_share": round(float(d["test_labels"].mean()), 4),
        }
        result.meta.update(self._settings(flt, pipes))
        t0 = time.perf_counter()
        test_sets = {DATASET: d["test_images"]}
        if self.corrupted:
            test_sets.update(self._corrupted(d, result))
        test_x = {m: self._test_inputs(m, test_sets) for m in self.models}
        corrupt_s = time.perf_counter() - t0
        shots = sorted(set(int(k) for k in self.shots))
        timing = {"test_inputs_s": corrupt_s, "augment_and_filter_s": 0.0, "train_s": 0.0}
        total = len(shots) * self.seeds
        with progress(total, f"bench {DATASET}", "sample", self.show_progress, min_total=1) as bar:
            for seed in range(self.seeds):
                rng = np.random.default_rng([self.random_state, seed])
                samples = nested_samples(d["train_labels"], shots, rng)
                t0 = time.perf_counter()
                self._make_variants(d["train_images"], samples[shots[-1]], pipes, flt)
                timing["augment_and_filter_s"] += time.perf_counter() - t0
                for k in shots:
                    rows = samples[k]
                    arms, extra = self._arms(d["train_images"], d["train_labels"], rows, seed, k)
                    t0 = time.perf_counter()
                    for arm in ARMS:
                        for trial in self._trials(arm, arms[arm], seed, k, test_x, extra):
                            result.add(trial)
                    timing["train_s"] += time.perf_counter() - t0
                    bar.update(1)
        result.meta["timing"] = {k: round(v, 1) for k, v in timing.items()}
        return result

    def lite0_settings(self) -> Any:
        from augment.bench.image_lite0 import Lite0Settings

        if self.lite0 is None:
            self.lite0 = Lite0Settings()
        elif isinstance(self.lite0, dict):
            self.lite0 = Lite0Settings(**self.lite0)
        return self.lite0

    def trunk(self) -> Any:
        """The frozen EfficientNet-Lite0 trunk of the ``lite0`` model (loaded once)."""
        from augment.bench.image_lite0 import Lite0Trunk

        if self._trunk is None:
            self._trunk = Lite0Trunk(self.lite0_settings())
        return self._trunk

    def _corrupted(self, d: dict[str, np.ndarray], result: BenchResult) -> dict[str, np.ndarray]:
        """Each family's corrupted test images, with their labels and clusters in ``result``."""
        from augment.bench.corruptions import CORRUPTIONS, FAMILIES, corrupted_test_sets

        rows = np.arange(len(d["test_labels"]))
        if self.corrupted_per_class is not None:
            rng = np.random.default_rng([self.random_state, 17])
            rows = np.sort(
                np.concatenate(
                    [
                        rng.permutation(np.flatnonzero(d["test_labels"] == c))[
                            : self.corrupted_per_class
                        ]
                        for c in (0, 1)
                    ]
                )
            )
        sets = corrupted_test_sets(
            d["test_images"][rows],
            d["test_labels"][rows],
            severities=self.severities,
            random_state=self.random_state,
        )
        out = {}
        for fam, cs in sets.items():
            name = corrupted_dataset(fam)
            result.truth[name] = cs.labels
            result.groups[name] = rows[cs.source]
            result.meta["datasets"][name] = {
                "corruptions": list(FAMILIES[fam]),
                "severities": [int(v) for v in self.severities],
                "test_images": len(rows),
                "test_rows": len(cs.labels),
                "bootstrap": "clusters: a test image and all its corrupted copies",
            }
            out[name] = cs.images
        result.meta["corruptions"] = {
            "source": "MedMNIST-C (Di Salvo et al. 2024) registry for pneumoniamnist; see "
            "augment/bench/corruptions.py for each value and what is our own choice",
            "parameters": {n: [c.family, list(c.params)] for n, c in CORRUPTIONS.items()},
            "test_images_per_class": self.corrupted_per_class or "all",
        }
        return out

    def _test_inputs(self, model: str, test_sets: dict[str, np.ndarray]) -> dict[str, Any]:
        """Each test set as the inputs of ``model``: CNN tensors or Lite0 trunk features."""
        if model == "cnn":
            return {name: _as_input(images) for name, images in test_sets.items()}
        trunk = self.trunk()
        return {name: trunk.compute(images) for name, images in test_sets.items()}

    def _settings(self, flt: FidelityFilter, pipes: dict[str, Any]) -> dict[str, Any]:
        enc = flt._encoder()
        classifiers = {}
        if "lite0" in self.models:
            classifiers["lite0"] = self.lite0_settings().describe()
        return {
            "augmentation": {
                "families": {f: repr(p) for f, p in pipes.items()},
                "n_variants": self.n_variants,
                "variant_seed": "sample_seed(random_state, train image index, variant)",
            },
            "filter": {
                "encoder": getattr(enc, "name", "?"),
                "image_size": getattr(enc, "image_size", None),
                "band": [flt.min_similarity, flt.max_similarity],
            },
            "classifier": {
                "model": f"CNN 3x3 conv {self.width}-pool-{2 * self.width}-pool-{4 * self.width}"
                "-global avg pool-dropout 0.2-linear, ReLU",
                "optimizer": "Adam",
                "steps": self.steps,
                "batch_size": self.batch_size,
                "batch": "drawn with replacement, half from each class",
                "lr": self.lr,
                "weight_decay": self.weight_decay,
                "tuning": "none: fixed and the same for every arm",
            },
            "models": list(self.models),
            "classifiers": classifiers,
            "seeds": self.seeds,
            "shots": [int(k) for k in self.shots],
            "sampling": "one permutation per class per seed; k-shot = its first k rows (nested)",
            "random_state": self.random_state,
        }

    def _make_variants(
        self,
        images: np.ndarray,
        rows: np.ndarray,
        pipes: dict[str, Any],
        flt: FidelityFilter,
    ) -> None:
        """Variants and verdicts of every family for the images in ``rows`` not yet seen."""
        for fam, pipe in pipes.items():
            todo = [int(i) for i in rows if (fam, int(i)) not in self._variants]
            if not todo:
                continue
            # variant v of image i has the seed sample_seed(random_state, i, v)
            sources = [Source(i, images[i]) for i in todo]
            made, errors = make_candidates(
                pipe, variant_requests(sources, self.n_variants, self.random_state)
            )
            raise_errors(errors)
            src = [images[c.source_id] for c in made]
            cand = [c.payload for c in made]
            verdicts = judge(pipe, flt, src, cand)
            for j, i in enumerate(todo):
                mine = verdicts[j * self.n_variants : (j + 1) * self.n_variants]
                self._variants[(fam, i)] = (
                    np.stack(cand[j * self.n_variants : (j + 1) * self.n_variants]),
                    np.array([v.accepted for v in mine], dtype=bool),
                    [v.reason.value for v in mine],
                )

    def _arms(
        self, images: np.ndarray, labels: np.ndarray, rows: np.ndarray, seed: int, k: int
    ) -> tuple[dict[str, TrainingSet], dict[str, Any]]:
        base = originals(images[rows], labels[rows])
        arms: dict[str, TrainingSet] = {}
        extra: dict[str, Any] = {}
        for f_index, fam in enumerate(FAMILIES):
            made = [self._variants[(fam, int(i))] for i in rows]
            items = np.concatenate([m[0] for m in made])
            accepted = np.concatenate([m[1] for m in made])
            source = np.repeat(np.arange(len(rows)), self.n_variants)
            rng = np.random.default_rng([self.random_state, seed, k, f_index])
            a = standard_arms(
                base, items, labels[rows][source], source, accepted, self.n_variants, rng
            )
            arms.setdefault("none", a["none"])
            arms.setdefault("duplicated", a["duplicated"])
            arms[fam] = a["unfiltered"]
            arms[f"{fam}_filtered"] = a["filtered"]
            arms[f"{fam}_size_matched"] = a["size_matched"]
            extra[f"accept_{fam}"] = round(float(accepted.mean()), 4)
        return arms, extra

    def _trials(
        self,
        arm: str,
        data: TrainingSet,
        seed: int,
        k: int,
        test_x: dict[str, dict[str, Any]],
        extra: dict[str, Any],
    ) -> list[Trial]:
        """Every model trained once on ``data``, scored on every test set."""
        trials = []
        items = np.asarray(data.items)
        for model in self.models:
            key = (self.random_state, seed, k)
            if model == "cnn":
                net = train_cnn(
                    items,
                    data.labels,
                    steps=self.steps,
                    batch_size=self.batch_size,
                    lr=self.lr,
                    weight_decay=self.weight_decay,
                    seed=key,
                    width=self.width,
                )
            else:
                from augment.bench.image_lite0 import train_lite0

                trunk = self.trunk()
                net = train_lite0(trunk, trunk.features(items), data.labels, seed=key)
            for name, x in test_x[model].items():
                prob = predict(net, x)
                pred = (prob >= 0.5).astype(np.int64)
                trials.append(
                    Trial(name, f"{k}/class", model, arm, seed, len(data), pred, prob, extra=extra)
                )
        return trials


# ---------------------------------------------------------------------------- the CNN
def small_cnn(width: int = 8) -> Any:
    """Three 3x3 conv blocks (``width``, 2x and 4x ``width`` channels, ReLU, 2x2 max-pooling after
    the first two: 28 -> 14 -> 7 pixels), global average pooling, dropout 0.2 and one logit
    (pneumonia). ``width`` 8: 5,921 parameters, 15-25 ms a training step (batch 32) on one CPU
    thread; twice the width was no better on 10 and 100 shots and twice as slow."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 4 * width, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(4 * width, 1),
    )


def _as_input(images: np.ndarray) -> Any:
    """uint8 ``(n, H, W)`` -> float tensor ``(n, 1, H, W)`` scaled to about [-1, 1]."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return ((x / 255.0 - 0.5) / 0.5).unsqueeze(1)


def predict(net: Any, x: Any, batch: int = 1024) -> np.ndarray:
    """Pneumonia probabilities of ``net`` (one logit per input) on the inputs ``x``."""
    import torch

    net.eval()
    with torch.inference_mode():
        logits = torch.cat([net(x[i : i + batch]).reshape(-1) for i in range(0, len(x), batch)])
    return torch.sigmoid(logits).double().numpy()


def train_cnn(
    images: np.ndarray,
    labels: np.ndarray,
    steps: int = 120,
    batch_size: int = 32,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    seed: Sequence[int] | int = 0,
    width: int = 8,
) -> Any:
    """:func:`small_cnn` trained on ``images``/``labels`` (0/1) for exactly ``steps`` Adam steps,
    each on a class-balanced batch drawn with replacement
    (:func:`augment.bench.balanced_training.fit_balanced`). The same ``seed`` gives the same
    initial weights, the same batches (for the same training rows) and the same network."""
    rng = seeded_rng(seed)
    net = small_cnn(width)
    return fit_balanced(net, _as_input(images), labels, steps, batch_size, lr, weight_decay, rng)


def new_result() -> BenchResult:
    """An empty result for the image benchmark (accuracy and AUC)."""
    return BenchResult("image", ("accuracy", "auc"), PAIRS)
