"""What every language-model text operation shares, whatever runs the model (transformers in this
process, or an OpenAI-compatible server): the two modes and their prompts, the cleaning of the
reply, the checks on it, and the provenance each candidate records.

Modes
-----
``paraphrase``
    The same meaning in other words. The prompt names the protected spans that must appear
    verbatim ("Copy these parts exactly: '30 days', 'Agreement'"); the pipeline's span check
    then enforces it (a lost span is a ``constraint`` verdict with ``on_broken="keep"``, or the
    sample is reverted with ``"revert"``).
``label_conditioned``
    LAMBADA style (Anaby-Tavor et al. 2020, prompted instead of fine-tuned): a few examples of
    the source's class in, one new example of that class out. ``examples`` maps each label to
    its texts; the source's label is found by looking the source up there (so it must be one of
    the examples), and ``n_shots`` examples of that label (the source first, the others drawn by
    the seed) go into the prompt. The label and the shots are recorded in the provenance. The
    output is a new text, not a paraphrase: judge it with protected spans off
    (``ProtectedSpans.disabled()``) and a label check, not a similarity band alone.

Bad output never passes silently: an empty reply, one that hit ``max_new_tokens`` without
finishing a sentence (a reply cut there keeps its complete sentences, ``cut_to_sentence``), a
prompt longer than the model's context window, a server that failed for good or answered
garbage raise :class:`GenerationError`, which the Augmenter records as that row's error (the run
goes on).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from augment.text.base import TextOperation

MODES = ("paraphrase", "label_conditioned")

PARAPHRASE_TEMPLATE = (
    "Rewrite the sentence below in different words. Keep its exact meaning.{keep}\n"
    "Reply with the rewritten sentence only.\n\nSentence: {text}"
)
#: One worked example shown before the request (a user turn and the model's answer): small
#: models copy the sentence unchanged without it.
PARAPHRASE_DEMO = (
    "The shop will refund the order within 14 days if the item is returned unused.",
    "If the item comes back unused, the order is refunded by the shop within 14 days.",
)
#: Appended to the paraphrase prompt when the source has protected spans.
KEEP_TEMPLATE = " Copy these parts exactly as they are written: {spans}."
LABEL_TEMPLATE = (
    "Here are examples of messages of the kind '{label}':\n{shots}\n\n"
    "Write one new message of the same kind, different from the examples. "
    "Reply with the message only."
)

_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly|of course)[,!.]?\s*)?(?:[^:\n]{0,60}\b(?:here|rewrit\w*|"
    r"sentence|paraphras\w*|reply|repl\w*|version|reword\w*|output|answer|message)\b[^:\n]{0,40}:)\s*",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’`«»"
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?=\s|$)")


def _complete_sentences(text: str) -> str:
    """``text`` up to the end of its last complete sentence ("" when it has none)."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].strip() if ends else ""


class GenerationError(RuntimeError):
    """A generation that cannot give a candidate: the message says why."""


@dataclass(frozen=True)
class Prompt:
    """One rendered request: chat messages, and what the provenance records of it."""

    messages: list[dict[str, str]]
    record: dict[str, Any]


def clean_reply(reply: str, source: str = "") -> str:
    """The candidate in a model's reply: the first non-empty line (unless the source spans
    several lines), without a preamble ("Here is the sentence:", "Sure! Rewritten:"), list
    marks, markdown bold or surrounding quotes."""
    text = reply.strip()
    if "\n" not in source.strip():
        lines = [ln for ln in text.splitlines() if ln.strip()]
        # a preamble on its own line: "Here is the rewritten sentence:\n<sentence>"
        while len(lines) > 1 and _PREAMBLE.sub("", lines[0]).strip() == "":
            lines = lines[1:]
        text = lines[0] if lines else ""
    for _ in range(3):  # "Sure! Here it is: "\u201c...\u201d"" peels in layers
        before = text
        text = _PREAMBLE.sub("", text, count=1)
        text = _LIST_MARK.sub("", text, count=1)
        text = text.strip().strip("*").strip()
        if len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES + ".":
            inner = text[1:-1] if text[-1] in _QUOTES else text[1:-2] + "."
            if not any(q in inner for q in _QUOTES[:3]):
                text = inner.strip()
        if text == before:
            break
    return text


class GenerativeOperation(TextOperation):
    """The base of the language-model operations: modes, prompts, cleaning, provenance.

    Subclasses implement :meth:`complete` (messages and seeds in, raw replies and per-reply
    facts out) and :meth:`model_name`. ``transform`` and ``transform_keeping`` run one text;
    :meth:`transform_batch` runs many at once (what a subclass batches or sends concurrently).
    """

    masks_protected = False

    def _setup(
        self,
        mode: str,
        examples: Mapping[str, Sequence[str]] | None,
        n_shots: int,
        prompt_template: str | None,
    ) -> None:
        self.mode = mode
        self.examples = None if examples is None else {str(k): list(v) for k, v in examples.items()}
        self.n_shots = n_shots
        self.prompt_template = prompt_template

    # ------------------------------------------------------------------ what subclasses give
    def model_name(self) -> str:
        raise NotImplementedError

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters, as recorded in provenance and sent to the model."""
        raise NotImplementedError

    def complete(
        self, prompts: Sequence[Prompt], seeds: Sequence[int]
    ) -> list[tuple[str, dict[str, Any]] | Exception]:
        """One raw reply and its facts (``{"truncated": bool, ...}``) per prompt, or the
        exception that prompt met (the others still count)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ prompts
    def _template(self) -> str:
        if self.prompt_template:
            return self.prompt_template
        return PARAPHRASE_TEMPLATE if self.mode == "paraphrase" else LABEL_TEMPLATE

    def _label_index(self) -> dict[str, str]:
        """Label of each example text (whitespace-normalised), rebuilt whenever ``examples`` is
        replaced (a benchmark gives every training sample its own)."""
        cached = getattr(self, "_by_text", None)
        if cached is None or cached[0] is not self.examples:
            idx: dict[str, str] = {}
            for label, texts in (self.examples or {}).items():
                for t in texts:
                    idx.setdefault(" ".join(t.split()), label)
            cached = self._by_text = (self.examples, idx)
        return cached[1]

    def build_prompt(self, text: str, seed: int, keep: Sequence[str] = ()) -> Prompt:
        """The request for one source text (``keep``: the spans that must survive verbatim)."""
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        template = self._template()
        record: dict[str, Any] = {"mode": self.mode, "prompt_template": template}
        if self.mode == "paraphrase":
            spans = list(dict.fromkeys(k for k in keep if k.strip()))
            hint = KEEP_TEMPLATE.format(spans=", ".join(f"'{s}'" for s in spans)) if spans else ""
            content = template.format(text=text, keep=hint)
            if spans:
                record["keep"] = spans
            if not self.prompt_template:
                demo_q, demo_a = PARAPHRASE_DEMO
                demo = template.format(text=demo_q, keep=KEEP_TEMPLATE.format(spans="'14 days'"))
                record["demo"] = list(PARAPHRASE_DEMO)
                return Prompt(
                    [
                        {"role": "user", "content": demo},
                        {"role": "assistant", "content": demo_a},
                        {"role": "user", "content": content},
                    ],
                    record,
                )
        else:
            if not self.examples:
                raise ValueError("label_conditioned generation needs examples={label: [texts]}")
            label = self._label_index().get(" ".join(text.split()))
            if label is None:
                raise GenerationError(
                    "label_conditioned: the source text is not among the examples, so its "
                    f"label is unknown: {text[:60]!r}"
                )
            pool = [
                t for t in self.examples[label] if " ".join(t.split()) != " ".join(text.split())
            ]
            rng = random.Random(seed)
            shots = [text, *rng.sample(pool, min(len(pool), max(self.n_shots - 1, 0)))]
            rng.shuffle(shots)
            content = template.format(label=label, shots="\n".join(f"- {s}" for s in shots))
            record.update(label=label, shots=shots)
        return Prompt([{"role": "user", "content": content}], record)

    # ------------------------------------------------------------------ running
    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        return self.transform_keeping(text, seed, ())

    def transform_keeping(
        self, text: str, seed: int, keep: Sequence[str]
    ) -> tuple[str, dict[str, Any]]:
        (result,) = self.transform_batch([text], [seed], [keep])
        if isinstance(result, Exception):
            raise result
        return result

    def transform_batch(
        self,
        texts: Sequence[str],
        seeds: Sequence[int],
        keeps: Sequence[Sequence[str]] | None = None,
    ) -> list[tuple[str, dict[str, Any]] | Exception]:
        """Generate for many texts at once: ``(candidate, params)`` or the error, per text."""
        keeps = keeps if keeps is not None else [()] * len(texts)
        prompts: list[Prompt | Exception] = []
        for text, seed, keep in zip(texts, seeds, keeps):
            try:
                prompts.append(self.build_prompt(text, int(seed), keep))
            except GenerationError as exc:
                prompts.append(exc)
        todo = [i for i, p in enumerate(prompts) if isinstance(p, Prompt)]
        replies = self.complete([prompts[i] for i in todo], [int(seeds[i]) for i in todo])
        out: list[tuple[str, dict[str, Any]] | Exception] = list(prompts)  # type: ignore[arg-type]
        for i, reply in zip(todo, replies):
            out[i] = (
                reply
                if isinstance(reply, Exception)
                else self._finish(
                    texts[i],
                    int(seeds[i]),
                    prompts[i],
                    *reply,  # type: ignore[arg-type]
                )
            )
        return out

    def _finish(
        self, text: str, seed: int, prompt: Prompt, reply: str, facts: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | Exception:
        params = {
            "model": self.model_name(),
            **prompt.record,
            "sampling": self.sampling(),
            "seed": seed,
            **facts,
        }
        candidate = clean_reply(reply, text)
        if facts.get("truncated") and "\n" not in reply.strip():
            # cut at max_new_tokens: keep the complete sentences, if any, of a reply that
            # rambled on; a reply with none is over-long
            whole = _complete_sentences(candidate)
            if whole:
                return whole, {**params, "cut_to_sentence": True}
            return GenerationError(
                f"over-long generation: hit max_new_tokens={self.sampling().get('max_new_tokens')}"
                f" without ending ({reply[:60]!r}...)"
            )
        if not candidate:
            return GenerationError(f"empty generation (raw reply {reply[:60]!r})")
        return candidate, params
