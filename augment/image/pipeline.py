"""ImagePipeline: albumentations transforms run reproducibly from a per-sample seed, with the
drawn parameters kept as provenance and masks, boxes and keypoints moved with the image."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from augment.candidate import Operation
from augment.image.presets import build
from augment.image.provenance import LazyOperations, operations
from augment.image.sample import as_targets, plain_uint8_image
from augment.image.seeding import SampleRandomState
from augment.io.specs import check_header, load_spec, save_spec

#: Version of the dict :meth:`ImagePipeline.to_dict` writes (the ``version`` of its header).
FORMAT_VERSION = 1
#: Box format of payload ``bboxes``: pixels, ``[x_min, y_min, x_max, y_max]``.
BBOX_FORMAT = "pascal_voc"


class ImagePipeline:
    """A composable, serializable image augmentation pipeline on albumentations.

    ``apply(payload, seed)`` makes one variant: the same seed gives the same variant in any
    process, thread or DataLoader worker, whatever ran before (the random state is set from the
    seed for each call, never carried over). The operations returned hold the parameters actually
    drawn (angle, gamma, contrast factor, ...), only for transforms that fired.

    A payload is an image (numpy ``(H, W)`` or ``(H, W, C)``, uint8 or float in [0, 1]) or a
    mapping ``{"image", "mask", "bboxes", "bbox_labels", "keypoints"}``; the variant has the same
    form. Boxes are pixel ``[x_min, y_min, x_max, y_max]``, keypoints pixel ``[x, y]``.

    Parameters
    ----------
    transforms:
        albumentations transforms (or an ``A.Compose``), applied in order; see
        :mod:`augment.image.transforms` for the contrast and rotation families and
        :meth:`from_preset` for ready-made ones.
    name:
        A label for reports (a preset's name by default).
    """

    modality = "image"

    def __init__(self, transforms: Sequence[A.BasicTransform] | A.Compose, name: str = "") -> None:
        self.transforms = transforms
        self.name = name
        self._compose: A.Compose | None = None
        self._compose_targets: A.Compose | None = None
        self._lock: threading.Lock | None = None
        self._states: dict[int, SampleRandomState] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_preset(cls, name: str, **options: Any) -> ImagePipeline:
        """A ready-made pipeline: ``"xray"``, ``"photo"`` or ``"document"`` (see
        :mod:`augment.image.presets` for what each holds and why). ``options`` are passed to
        the preset's builder (e.g. ``max_rotation=5``)."""
        return cls(build(name, **options), name=name)

    def __add__(self, other: ImagePipeline | Sequence[A.BasicTransform]) -> ImagePipeline:
        """A pipeline that runs this one's transforms, then ``other``'s."""
        more = other._transform_list() if isinstance(other, ImagePipeline) else list(other)
        name = "+".join(n for n in (self.name, getattr(other, "name", "")) if n)
        return ImagePipeline(self._transform_list() + more, name=name)

    def _transform_list(self) -> list[A.BasicTransform]:
        ts = self.transforms
        return list(ts.transforms) if isinstance(ts, A.BaseCompose) else list(ts)

    @property
    def compose(self) -> A.Compose:
        """The albumentations ``Compose`` that runs the transforms on bare images (built on
        first use)."""
        if self._compose is None:
            self._compose = self._build(with_targets=False)
        return self._compose

    def _build(self, with_targets: bool) -> A.Compose:
        ts = self._transform_list()
        for i, t in enumerate(ts):
            if not isinstance(t, (A.BasicTransform, A.BaseCompose)):
                raise TypeError(
                    f"transform {i} is {type(t).__name__}, not an albumentations transform"
                )
        if not with_targets:
            return A.Compose(ts, save_applied_params=True)
        # Boxes and keypoints need processors; they get their own copy of the transforms.
        return A.Compose(
            copy.deepcopy(ts),
            bbox_params=A.BboxParams(format=BBOX_FORMAT, label_fields=["bbox_ids"], clip=True),
            keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
            save_applied_params=True,
        )

    # ------------------------------------------------------------------ running
    def apply(self, payload: Any, seed: int) -> tuple[Any, Sequence[Operation]]:
        """One variant of ``payload`` made from ``seed``, and the operations applied.

        The operations are lazy: a :class:`~augment.image.provenance.LazyOperations` that reads
        like a list of :class:`~augment.candidate.Operation` (and pickles as one). The variant is
        made without albumentations' parameter tracking (tracking and converting the parameters
        cost 3-7% of a sample); they are worked out on first read of the operations by running
        the same seeded sample again with tracking on, and kept. The seed fixes every draw, so
        the second run draws exactly the parameters the first one applied; a caller that never
        reads them (a training loop) pays nothing, and one that reads them (``augment run``) pays
        a second run.

        Until the operations are read they hold ``payload``: do not modify its image (or its
        mask, boxes or keypoints) in place, nor this pipeline's transforms, before reading them,
        or the parameters worked out may differ from those applied (they are drawn from the seed,
        but some transforms also take them from the targets: the image's shape, the boxes, the
        mask). ``list(ops)`` fixes them at once and lets go of the payload.
        """
        if plain_uint8_image(payload):  # the hot path: nothing to check, nothing else to move
            targets = {"image": payload}
            image = self._sample(targets, seed, track=False)["image"]
            return image, LazyOperations(partial(self._operations, targets, seed, ()))
        targets, out = self._run(payload, seed, track=False)
        if isinstance(payload, np.ndarray):
            return out["image"], LazyOperations(partial(self._operations, targets, seed, ()))
        result, dropped = _payload(targets, out)
        extra = (Operation("bboxes_dropped", {"dropped": dropped}),) if dropped else ()
        return result, LazyOperations(partial(self._operations, targets, seed, extra))

    def _operations(
        self, targets: dict[str, Any], seed: int, extra: tuple[Operation, ...]
    ) -> list[Operation]:
        """The operations of sample ``seed`` of ``targets``: the sample run again, tracked."""
        ops = operations(self._sample(targets, seed, track=True)["applied_transforms"])
        ops.extend(extra)
        return ops

    def __call__(self, payload: Any, seed: int) -> Any:
        """The variant alone, without provenance (for a Dataset's ``__getitem__``): the same
        variant as :meth:`apply` with the same seed."""
        if plain_uint8_image(payload):  # the hot path: nothing to check, nothing else to move
            return self._sample({"image": payload}, seed, track=False)["image"]
        targets, out = self._run(payload, seed, track=False)
        if isinstance(payload, np.ndarray):
            return out["image"]
        return _payload(targets, out)[0]

    def _run(self, payload: Any, seed: int, track: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """The checked targets of ``payload`` and albumentations' output for sample ``seed``
        (with ``applied_transforms`` when ``track``)."""
        targets = as_targets(payload)
        return targets, self._sample(targets, seed, track)

    def _sample(self, targets: dict[str, Any], seed: int, track: bool) -> dict[str, Any]:
        """Albumentations' output for sample ``seed``. An RGBA image without a mask of its own
        is sampled as its RGB channels with the alpha channel as the mask, so that colour
        transforms leave alpha alone and geometric ones move it with the pixels."""
        image = targets["image"]
        if image.ndim == 3 and image.shape[2] == 4 and "mask" not in targets:
            rgb = {**targets, "image": np.ascontiguousarray(image[..., :3])}
            rgb["mask"] = np.ascontiguousarray(image[..., 3])
            out = dict(self._sample(rgb, seed, track))
            out["image"] = np.dstack([out["image"], out.pop("mask")])
            return out
        if "bboxes" in targets or "keypoints" in targets:
            data: dict[str, Any] = {"image": targets["image"]}
            if "mask" in targets:
                data["mask"] = targets["mask"]
            boxes = targets.get("bboxes")
            data["bboxes"] = np.zeros((0, 4)) if boxes is None else boxes
            data["bbox_ids"] = np.arange(0 if boxes is None else len(boxes))
            points = targets.get("keypoints")
            data["keypoints"] = np.zeros((0, 2)) if points is None else points
            if self._compose_targets is None:
                self._compose_targets = self._build(with_targets=True)
            compose = self._compose_targets
        else:  # a bare image, or an image and its mask
            data = targets
            compose = self._compose if self._compose is not None else self.compose
        lock = self._lock
        if lock is None:
            lock = self._lock = threading.Lock()
        with lock:  # the Compose holds the random state: one sample at a time
            state = self._states.get(id(compose)) or self._state_for(compose)
            state.reset(seed)
            compose.save_applied_params = track  # what was drawn, for the operations
            return compose(**data)

    def _state_for(self, compose: A.Compose) -> SampleRandomState:
        state = self._states.get(id(compose))
        if state is None:
            state = SampleRandomState()
            compose.set_random_state(state.generator, state.py_random)
            self._states[id(compose)] = state
        return state

    def check(self, source: Any, candidate: Any) -> str | None:
        """A rule the variant broke, in words: its image changed shape or type, a box left the
        image, or a keypoint left the frame. None when it is fine."""
        src = source["image"] if isinstance(source, dict) else source
        img = candidate["image"] if isinstance(candidate, dict) else candidate
        if isinstance(src, np.ndarray) and isinstance(img, np.ndarray):
            if src.shape != img.shape or src.dtype != img.dtype:
                return f"image changed from {src.shape} {src.dtype} to {img.shape} {img.dtype}"
        if isinstance(source, dict) and isinstance(candidate, dict):
            n_src, n_out = len(source.get("bboxes") or []), len(candidate.get("bboxes") or [])
            if n_out < n_src:
                return f"{n_src - n_out} of {n_src} box(es) left the image"
            kps = np.asarray(candidate.get("keypoints") or [], dtype=float).reshape(-1, 2)
            h, w = img.shape[:2]
            outside = np.flatnonzero(
                (kps[:, 0] < 0) | (kps[:, 0] >= w) | (kps[:, 1] < 0) | (kps[:, 1] >= h)
            )
            if len(outside):
                return f"keypoint(s) {outside.tolist()} left the image"
        return None

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (albumentations' own serialization of each transform) that
        :meth:`from_dict` turns back into a pipeline with the same behaviour."""
        return {
            "type": "ImagePipeline",
            "version": FORMAT_VERSION,
            "name": self.name,
            "albumentations": A.__version__,
            "transforms": [_plain(A.to_dict(t)["transform"]) for t in self._transform_list()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImagePipeline:
        check_header(d, "ImagePipeline", FORMAT_VERSION, aliases=("image",))
        ts = [A.from_dict({"transform": t}) for t in d["transforms"]]
        return cls(ts, name=d.get("name", ""))

    def save(self, path: str | Path) -> Path:
        """Write the pipeline as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        return save_spec(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> ImagePipeline:
        """Read a pipeline written by :meth:`save`."""
        return cls.from_dict(load_spec(path))

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers get a fresh lock and Compose
        state = self.__dict__.copy()
        state["_compose"] = None
        state["_compose_targets"] = None
        state["_lock"] = None
        state["_states"] = {}
        return state

    def __repr__(self) -> str:
        names = ", ".join(type(t).__name__ for t in self._transform_list())
        return f"ImagePipeline({self.name or 'custom'}: {names})"


def _payload(targets: dict[str, Any], out: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The variant as a payload mapping shaped like the source, and the boxes that were lost."""
    result: dict[str, Any] = {"image": out["image"]}
    if "mask" in targets:
        result["mask"] = out["mask"]
    dropped: list[int] = []
    if "bboxes" in targets:
        n_boxes = len(targets["bboxes"])
        kept = [int(i) for i in out["bbox_ids"]]
        result["bboxes"] = np.asarray(out["bboxes"], dtype=np.float64).reshape(-1, 4).tolist()
        labels = targets.get("bbox_labels")
        if labels is not None:
            result["bbox_labels"] = [labels[i] for i in kept]
        if len(kept) < n_boxes:
            dropped = sorted(set(range(n_boxes)) - set(kept))
    if "keypoints" in targets:
        result["keypoints"] = np.asarray(out["keypoints"])[:, :2].astype(float).tolist()
    return result, dropped


def _plain(value: Any) -> Any:
    """Tuples to lists, so the dict survives JSON and YAML unchanged."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
