"""A sentence-transformers model (transformer, mean pooling, optional normalisation) on ONNX
Runtime: exported once from its local folder with ``torch.onnx`` (the TorchScript exporter, which
needs nothing beyond torch), fused by ONNX Runtime's transformer optimizer (attention, skip layer
norm, GELU), cached on disk and checked against the torch model before first use."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fidelity.encoders.onnx_cache import (
    ForkSafeSession,
    assert_close,
    cached_export,
    file_digest,
    session,
)

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: The largest difference allowed between the exported and the torch embeddings (unit vectors).
TOLERANCE = 1e-4
#: Transformer families ONNX Runtime's optimizer fuses as "bert" (others are exported unfused).
_FUSABLE = {"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "electra"}


class UnsupportedModel(ValueError):
    """The sentence-transformers model has modules the export does not reproduce."""


def _layout(st: SentenceTransformer) -> bool:
    """Whether the model is transformer -> mean pooling [-> normalise]; returns ``normalise``."""
    names = [type(m).__name__ for m in st]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedModel(
            f"modules {names}; the ONNX path handles Transformer, Pooling, [Normalize]"
        )
    mode = getattr(st[1], "pooling_mode", None)
    if mode is None:  # sentence-transformers < 6
        mode = "mean" if getattr(st[1], "pooling_mode_mean_tokens", False) else "other"
    if mode != "mean":
        raise UnsupportedModel(f"pooling mode {mode!r}; the ONNX path handles mean pooling")
    return len(names) == 3


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    files += [p for p in (folder / "config.json", folder / "modules.json") if p.is_file()]
    if not files:
        raise UnsupportedModel(f"no weight files found in {folder}")
    return files


class OnnxSentenceModel:
    """Embeddings ``(n, d)`` from ``input_ids`` and ``attention_mask`` (int64, padded), as the
    sentence-transformers model gives them, on ONNX Runtime."""

    def __init__(self, st: SentenceTransformer, model_path: str, threads: int | None = None):
        folder = Path(model_path)
        if not folder.is_dir():
            raise UnsupportedModel(f"{model_path} is not a local folder (the export reads one)")
        normalise = _layout(st)
        auto = st[0].auto_model
        kind = getattr(auto.config, "model_type", "")
        digest = file_digest(_weight_files(folder), f"text|{kind}|{normalise}")
        self.path = cached_export(
            f"text-{folder.parent.name}-{folder.name}",
            digest,
            lambda p: _export(st, p, normalise),
            lambda p: _check(st, p, threads),
        )
        self._session = ForkSafeSession(self.path, threads)
        self._inputs = {i.name for i in self._session.get_inputs()}

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]


def _export(st: SentenceTransformer, path: Path, normalise: bool) -> None:
    import torch

    auto = copy.deepcopy(st[0].auto_model).float().cpu().eval()
    setter = getattr(auto, "set_attn_implementation", None)
    if setter is not None:  # eager attention exports as the pattern the optimizer fuses
        setter("eager")
    module = _Pooled(auto, normalise).eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    raw = path.with_name("raw.onnx")
    torch.onnx.export(
        module,
        (ids, torch.ones_like(ids)),
        str(raw),
        dynamo=False,
        opset_version=17,
        input_names=["input_ids", "attention_mask"],
        output_names=["embedding"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"},
        },
    )
    cfg = auto.config
    if getattr(cfg, "model_type", "") in _FUSABLE:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(
                str(raw),
                model_type="bert",
                opt_level=1,
                num_heads=int(cfg.num_attention_heads),
                hidden_size=int(cfg.hidden_size),
            )
            opt.save_model_to_file(str(path))
            fused = opt.get_fused_operator_statistics()
            log.info("fused %s", {k: v for k, v in fused.items() if v})
            _check(st, path, None)
            return
        except Exception as exc:  # noqa: BLE001 - fall back to the plain graph, which is checked
            log.warning(
                "ONNX Runtime's transformer optimizer failed (%s); using the plain graph", exc
            )
    raw.replace(path)


def _check(st: SentenceTransformer, path: Path, threads: int | None) -> None:
    """The exported graph must give the torch model's embeddings on a padded probe batch."""
    import torch

    probe = [
        "A short one.",
        "A longer sentence, with punctuation, numbers like 42, and more words.",
        "Ünïcödé and émojis 🙂 still tokenize.",
    ]
    features = st.tokenize(probe)
    with torch.inference_mode():
        want = st(features)["sentence_embedding"].float().cpu().numpy()
    sess = session(path, threads)
    names = {i.name for i in sess.get_inputs()}
    feeds = {k: features[k].cpu().numpy() for k in ("input_ids", "attention_mask") if k in names}
    got = sess.run(None, feeds)[0]
    assert_close(got, want, TOLERANCE, "the sentence model")


class _Pooled:  # built lazily so that importing this module does not import torch
    def __new__(cls, auto: Any, normalise: bool) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            """Transformer, masked mean over tokens, and (when the model has it) L2 norm."""

            def __init__(self) -> None:
                super().__init__()
                self.auto = auto

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
                hidden = self.auto(input_ids=input_ids, attention_mask=attention_mask)[0]
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(emb, dim=-1) if normalise else emb

        return Pooled()
