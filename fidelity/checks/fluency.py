"""Fluency: does a language model find the candidate about as likely, per token, as its source?

The score is the mean log-likelihood per token of the candidate minus that of its source under
a small causal LM (nats per token; 0 means as fluent as the source, negative means less
likely). A dropped verb ("I was twice for my subscription"), a wrong-sense synonym ("written
discover") or a garbled phrase cost the candidate far more likelihood than a paraphrase does,
while sentence embeddings barely move. Below ``min_delta`` is ``disfluent``.

The LM is the packaged SmolLM2-135M-Instruct loaded by :func:`fidelity.lm.load_causal_lm`
(de-quantised once and cached on disk), or any ``(model, tokenizer)`` pair of transformers. When
no LM can be loaded the check is off: every pair passes with the note "fluency not checked:
..." and one warning says why.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from fidelity.checks.base import Check, Outcome, PairBatch
from fidelity.verdict import Reason

log = logging.getLogger(__name__)

#: The default bound on ``fluency_delta``: about the 5% quantile (-1.59) of the 24 hand-written
#: safe paraphrases shipped in augment/examples/text under SmolLM2-135M-Instruct, rounded.
DEFAULT_MIN_DELTA = -1.5


class FluencyScorer:
    """Mean per-token log-likelihood of texts under a causal LM, batched and cached.

    A text is scored after a prefix: the tokenizer's BOS token (its EOS token when it has none)
    alone, so the first word is scored too, or BOS plus a prompt (``prefixes``). Pairs are sorted
    by length into batches (little padding); texts are cut to ``max_tokens``. The cache is keyed
    by (prefix, text).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        batch_size: int = 16,
        max_tokens: int = 128,
        cache_size: int = 100_000,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()

    def _start_id(self) -> int:
        tok = self.tokenizer
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        if start is None:
            raise ValueError("the tokenizer has neither a BOS nor an EOS token to start from")
        return int(start)

    def score(self, texts: Sequence[str], prefixes: Sequence[str] | None = None) -> np.ndarray:
        """Mean log-likelihood per token of each text after its prefix (nats; higher is more
        likely). With prefixes, each text is scored with a leading space after it."""
        keys = list(zip([""] * len(texts) if prefixes is None else prefixes, texts))
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if todo:
            for key, value in zip(todo, self._score_uncached(todo)):
                self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.array([self._cache[k] for k in keys], dtype=np.float64)

    def _score_uncached(self, pairs: list[tuple[str, str]]) -> list[float]:
        import torch

        start = self._start_id()
        tok = self.tokenizer
        texts = [t if not p else " " + t for p, t in pairs]
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        pre = [tok(p, add_special_tokens=False)["input_ids"] if p else [] for p, _ in pairs]
        seqs = [[start, *p, *x[: self.max_tokens]] for p, x in zip(pre, ids)]
        first = [1 + len(p) for p in pre]  # position of each text's first token
        order = np.argsort([len(x) for x in seqs], kind="stable")
        out = [math.nan] * len(pairs)
        device = next(self.model.parameters()).device
        pad = tok.pad_token_id if tok.pad_token_id is not None else start
        for b in range(0, len(order), self.batch_size):
            rows = order[b : b + self.batch_size]
            width = max(len(seqs[i]) for i in rows)
            x = torch.full((len(rows), width), pad, dtype=torch.long)
            attn = torch.zeros((len(rows), width), dtype=torch.long)
            scored = torch.zeros((len(rows), width - 1))
            for r, i in enumerate(rows):  # right padding: positions start at 0 for every text
                x[r, : len(seqs[i])] = torch.tensor(seqs[i])
                attn[r, : len(seqs[i])] = 1
                scored[r, first[i] - 1 : len(seqs[i]) - 1] = 1.0  # predictions of text tokens
            with torch.inference_mode():
                logits = self.model(input_ids=x.to(device), attention_mask=attn.to(device)).logits
                logits = logits[:, :-1].float().cpu()
            target = x[:, 1:]
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none"
            ).view(target.shape)
            n_tok = scored.sum(1)
            mean = (-(nll * scored).sum(1) / n_tok.clamp(min=1)).numpy()
            for r, i in enumerate(rows):
                out[i] = float(mean[r]) if n_tok[r] > 0 else math.nan
        return out


def mean_token_logprob(
    texts: Sequence[str], model: Any = None, tokenizer: Any = None, batch_size: int = 16
) -> list[float]:
    """The mean log-probability per token of each text under a causal LM (the packaged default
    of :func:`fidelity.lm.load_causal_lm` when ``model`` is ``None``): a fluency figure, higher
    is more fluent; compare a candidate with its own source, since it depends on length and
    vocabulary."""
    if model is None or tokenizer is None:
        from fidelity.lm import load_causal_lm

        model, tokenizer = load_causal_lm()
    return FluencyScorer(model, tokenizer, batch_size=batch_size).score(texts).tolist()


class FluencyCheck(Check):
    """``disfluent`` when the candidate's mean per-token log-likelihood is more than
    ``-min_delta`` nats below its source's (score ``fluency_delta``; also
    ``candidate_logprob`` and ``source_logprob``).

    ``model``/``tokenizer``: a transformers causal LM and its tokenizer; by default
    :func:`fidelity.lm.load_causal_lm` (``lm`` names the model or path, None the packaged
    SmolLM2-135M-Instruct), loaded on first use. Without an LM the check is off (see the module
    docstring). :func:`fidelity.calibrate_checks` derives ``min_delta`` from known-good pairs.
    """

    name = "fluency"
    uses_embeddings = False
    threshold_param = "min_delta"
    score_name = "fluency_delta"

    def __init__(
        self,
        min_delta: float = DEFAULT_MIN_DELTA,
        *,
        lm: str | None = None,
        model: Any = None,
        tokenizer: Any = None,
        batch_size: int = 16,
        max_tokens: int = 128,
    ) -> None:
        if (model is None) != (tokenizer is None):
            raise ValueError("pass both model and tokenizer, or neither")
        self.min_delta = float(min_delta)
        self.lm = lm
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._scorer: FluencyScorer | None = None
        self.unavailable: str | None = None
        if model is not None:
            self._scorer = FluencyScorer(model, tokenizer, batch_size, max_tokens)

    @property
    def scorer(self) -> FluencyScorer | None:
        """The scorer, loading the LM on first use; None (and ``unavailable`` says why) when no
        LM can be loaded."""
        if self._scorer is None and self.unavailable is None:
            try:
                from fidelity.lm import load_causal_lm

                model, tok = load_causal_lm(self.lm)
            except Exception as exc:  # no LM on this machine: the check is off, and says so
                self.unavailable = f"{type(exc).__name__}: {exc}"
                log.warning("fluency check is off: no causal LM could be loaded (%s)", exc)
            else:
                self._scorer = FluencyScorer(model, tok, self.batch_size, self.max_tokens)
        return self._scorer

    def logprobs(
        self, sources: Sequence[str], candidates: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-token log-likelihood of each source and each candidate (NaN without an LM)."""
        scorer = self.scorer
        if scorer is None:
            nan = np.full(len(sources), math.nan)
            return nan, nan.copy()
        lp = scorer.score(list(sources) + list(candidates))
        return lp[: len(sources)], lp[len(sources) :]

    def deltas(self, sources: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
        """``fluency_delta`` for text pairs (NaN without an LM)."""
        src, cand = self.logprobs(sources, candidates)
        return cand - src

    def check_many(self, batch: PairBatch) -> list[Outcome]:
        srcs, cands = batch.sources, batch.candidates
        texts = [isinstance(s, str) and isinstance(c, str) for s, c in zip(srcs, cands)]
        out = [Outcome({}, None, "fluency not checked: not a text pair") for _ in srcs]
        rows = [k for k, ok in enumerate(texts) if ok]
        scorer = self.scorer
        if scorer is None:
            for k in rows:
                out[k] = Outcome({}, None, f"fluency not checked: {self.unavailable}")
            return out
        if not rows:
            return out
        src_lps, cand_lps = self.logprobs([srcs[k] for k in rows], [cands[k] for k in rows])
        for j, k in enumerate(rows):
            src_lp, cand_lp = float(src_lps[j]), float(cand_lps[j])
            delta = cand_lp - src_lp
            scores = {
                "fluency_delta": delta,
                "candidate_logprob": cand_lp,
                "source_logprob": src_lp,
            }
            if delta < self.min_delta:
                out[k] = Outcome(
                    scores,
                    Reason.DISFLUENT,
                    f"log-likelihood per token {cand_lp:.2f} vs source {src_lp:.2f} "
                    f"(delta {delta:.2f} < {self.min_delta:.2f})",
                )
            else:
                out[k] = Outcome(scores)
        return out

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {"min_delta": self.min_delta}
        if self.lm is not None:
            d["lm"] = self.lm
        if self.batch_size != 16:
            d["batch_size"] = self.batch_size
        if self.max_tokens != 128:
            d["max_tokens"] = self.max_tokens
        return d
