"""Sequence-to-sequence backends with transformers: MarianMT back-translation and paraphrase
generation (T5 / BART / PEGASUS style models fine-tuned for paraphrasing).

nlpaug's BackTranslationAug starts a DataLoader worker process on every call and decodes
greedily only, so the loading and generation code is ours: one model pair per operation,
loaded on first use, seeded sampling when asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from augment.text.base import TextOperation


class _Seq2Seq:
    """A tokenizer and seq2seq model loaded from ``path`` on first use."""

    def __init__(self, path: str, device: str) -> None:
        self.path = path
        self.device = device
        self._model: Any = None

    def load(self) -> tuple[Any, Any]:
        if self._model is None:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(self.path)
            self._model = AutoModelForSeq2SeqLM.from_pretrained(self.path).to(self.device).eval()
        return self._tok, self._model

    def generate(self, texts: list[str], seed: int, **kwargs: Any) -> list[str]:
        import torch

        tok, model = self.load()
        batch = tok(texts, return_tensors="pt", padding=True, truncation=True).to(self.device)
        batch.pop("token_type_ids", None)
        with _seeded_torch(seed, self.device), torch.no_grad():
            ids = model.generate(**batch, **kwargs)
        return [t.strip() for t in tok.batch_decode(ids, skip_special_tokens=True)]


@contextlib.contextmanager
def _seeded_torch(seed: int, device: str) -> Iterator[None]:
    """Seed torch for one generation without touching the caller's random state."""
    import torch

    devices = [torch.device(device).index or 0] if str(device).startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed % (2**63))
        yield


def _generation_kwargs(op: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "max_new_tokens": op.max_new_tokens,
        "num_beams": op.num_beams,
        "do_sample": op.do_sample,
    }
    if op.do_sample:
        kw.update(top_p=op.top_p, temperature=op.temperature)
    return kw


class MarianBackTranslation(TextOperation):
    """Translate to a pivot language and back with two MarianMT (or any seq2seq) models,
    e.g. ``Helsinki-NLP/opus-mt-en-de`` and ``Helsinki-NLP/opus-mt-de-en`` saved locally.

    Beam search by default (deterministic); ``do_sample=True`` draws a different
    back-translation per seed (``top_p``, ``temperature``). Runs on raw text; broken protected
    spans revert the sample. Records ``pivot_text``.
    """

    name = "backtranslation_marian"
    masks_protected = False

    def __init__(
        self,
        forward_model: str,
        backward_model: str,
        num_beams: int = 4,
        do_sample: bool = False,
        top_p: float = 0.9,
        temperature: float = 1.0,
        max_new_tokens: int = 256,
        device: str = "cpu",
    ) -> None:
        self.forward_model = forward_model
        self.backward_model = backward_model
        self.num_beams = num_beams
        self.do_sample = do_sample
        self.top_p = top_p
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.device = device

    def _models(self) -> tuple[_Seq2Seq, _Seq2Seq]:
        pair = getattr(self, "_pair", None)
        if pair is None:
            pair = self._pair = (
                _Seq2Seq(str(self.forward_model), self.device),
                _Seq2Seq(str(self.backward_model), self.device),
            )
        return pair

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        fwd, bwd = self._models()
        kw = _generation_kwargs(self)
        (pivot,) = fwd.generate([text], seed, **kw)
        (back,) = bwd.generate([pivot], seed + 1, **kw)
        return back, {"pivot_text": pivot}


class Seq2SeqParaphrase(TextOperation):
    """Generate a paraphrase with a seq2seq model fine-tuned for it (T5 / BART / PEGASUS).

    ``prefix`` is prepended to the input (T5 paraphrasers expect e.g. ``"paraphrase: "``; BART
    and PEGASUS ones usually nothing). Sampling by default, seeded per sample, so each variant
    differs and the same seed gives the same text. Runs on raw text; broken protected spans
    revert the sample.
    """

    name = "paraphrase_seq2seq"
    masks_protected = False

    def __init__(
        self,
        model_path: str,
        prefix: str = "",
        do_sample: bool = True,
        top_p: float = 0.9,
        temperature: float = 1.0,
        num_beams: int = 1,
        max_new_tokens: int = 256,
        device: str = "cpu",
    ) -> None:
        self.model_path = model_path
        self.prefix = prefix
        self.do_sample = do_sample
        self.top_p = top_p
        self.temperature = temperature
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.device = device

    def _model(self) -> _Seq2Seq:
        m = getattr(self, "_m", None)
        if m is None:
            m = self._m = _Seq2Seq(str(self.model_path), self.device)
        return m

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        (out,) = self._model().generate([self.prefix + text], seed, **_generation_kwargs(self))
        return out, {"model": str(self.model_path)}
