"""Masked-LM word substitution through nlpaug's ContextualWordEmbsAug (BERT, DistilBERT,
RoBERTa, BART style fill-mask models)."""

from __future__ import annotations

from typing import Any

from augment.text.base import TextOperation
from augment.text.seeding import seeded_globals


class MaskedLMSubstitution(TextOperation):
    """Replace ``aug_p`` of the words by what a masked language model predicts in their place.

    Parameters
    ----------
    model_path:
        A local folder with a fill-mask model and its tokenizer (or a hub id the machine can
        reach; this library never downloads).
    model_type:
        nlpaug's family name (``"bert"``, ``"roberta"``, ``"bart"``); guessed from the path when
        empty.
    top_k:
        Draw the replacement among the model's ``top_k`` predictions.

    Runs on raw text (a tokenizer would split a placeholder into pieces the model may replace);
    the pipeline verifies protected spans afterwards and reverts the sample when one broke.
    Uncased models lower-case the text. Records ``model`` and ``changed`` words.
    """

    name = "masked_lm"
    masks_protected = False

    def __init__(
        self,
        model_path: str,
        model_type: str = "",
        aug_p: float = 0.1,
        aug_max: int = 10,
        top_k: int = 20,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        self.model_path = model_path
        self.model_type = model_type
        self.aug_p = aug_p
        self.aug_max = aug_max
        self.top_k = top_k
        self.device = device
        self.batch_size = batch_size

    def _nlpaug(self) -> Any:
        aug = getattr(self, "_aug", None)
        if aug is None:
            import nlpaug.augmenter.word as naw

            # use_custom_api=False: nlpaug's own BERT wrapper calls tokenizer internals that
            # transformers 5 removed; its fill-mask pipeline path works with any version.
            aug = self._aug = naw.ContextualWordEmbsAug(
                model_path=str(self.model_path),
                model_type=self.model_type,
                aug_p=self.aug_p,
                aug_max=self.aug_max,
                top_k=self.top_k,
                device=self.device,
                batch_size=self.batch_size,
                use_custom_api=False,
            )
        return aug

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        aug = self._nlpaug()
        with seeded_globals(seed):
            out = aug.substitute(text)
        out = out[0] if isinstance(out, list) else out
        # A fill-mask model may predict its own special tokens ([CLS], <s>, ...): those
        # substitutions are undone, word for word.
        special = set(aug.model.get_tokenizer().all_special_tokens)
        words, new = text.split(), out.split()
        if len(words) == len(new):
            new = [
                w if any(t in n for t in special) else n for w, n in zip(words, new, strict=True)
            ]
            out = " ".join(new)
            changed = [[x, y] for x, y in zip(words, new, strict=True) if x.lower() != y.lower()]
        elif any(t in out for t in special):
            return text, {
                "model": str(self.model_path),
                "changed": [],
                "skipped": "the model predicted special tokens",
            }
        else:
            changed = [[text, out]]
        return out, {"model": str(self.model_path), "changed": changed}
