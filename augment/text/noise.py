"""Character noise as real users and scanners make it: keyboard slips, OCR confusions and common
misspellings, through nlpaug's KeyboardAug, OcrAug and SpellingAug (with the misspelling list
nlpaug ships). Protected spans are placeholders the augmenters skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augment.text.base import TextOperation
from augment.text.protected import PLACEHOLDER_STOPWORDS_REGEX
from augment.text.seeding import seeded_globals


def _whitespace_tokens(text: str) -> list[str]:
    return text.split()


def _join(words: list[str]) -> str:
    return " ".join(words)


def _changed(before: str, after: str) -> list[list[str]]:
    a, b = before.split(), after.split()
    if len(a) != len(b):
        return [[before, after]]
    return [[x, y] for x, y in zip(a, b, strict=True) if x != y]


class _NlpaugNoise(TextOperation):
    def _build(self) -> Any:
        raise NotImplementedError

    def _nlpaug(self) -> Any:
        aug = getattr(self, "_aug", None)
        if aug is None:
            aug = self._aug = self._build()
        return aug

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        aug = self._nlpaug()
        with seeded_globals(seed):
            out = aug.substitute(text) if text.strip() else text
        return out, {"changed": _changed(text, out)}


class _CharNoise(_NlpaugNoise):
    """nlpaug's character augmenters share their knobs: ``aug_word_p`` of the words, ``aug_char_p``
    of each word's characters, at most ``aug_word_max`` words."""

    #: Keyword arguments of the nlpaug class beyond the shared ones.
    extra: dict[str, Any] = {}

    def __init__(
        self, aug_word_p: float = 0.1, aug_char_p: float = 0.1, aug_word_max: int = 10
    ) -> None:
        self.aug_word_p = aug_word_p
        self.aug_char_p = aug_char_p
        self.aug_word_max = aug_word_max

    def _nlpaug_class(self) -> Any:
        raise NotImplementedError

    def _build(self) -> Any:
        return self._nlpaug_class()(
            aug_word_p=self.aug_word_p,
            aug_char_p=self.aug_char_p,
            aug_word_max=self.aug_word_max,
            stopwords_regex=PLACEHOLDER_STOPWORDS_REGEX,
            tokenizer=_whitespace_tokens,
            reverse_tokenizer=_join,
            **self.extra,
        )


class KeyboardNoise(_CharNoise):
    """Replace characters by a neighbour on an English QWERTY keyboard in ``aug_word_p`` of the
    words (``aug_char_p`` of each word's characters). Digits are left alone (they are protected
    anyway). Records ``changed: [[word, typo], ...]``."""

    name = "keyboard_noise"
    extra = {"include_numeric": False, "include_special_char": False, "include_upper_case": False}

    def _nlpaug_class(self) -> Any:
        import nlpaug.augmenter.char as nac

        return nac.KeyboardAug


class OcrNoise(_CharNoise):
    """OCR confusions (``l``/``1``, ``O``/``0``, ``rn``/``m`` style) in ``aug_word_p`` of the
    words. Records ``changed``."""

    name = "ocr_noise"

    def _nlpaug_class(self) -> Any:
        import nlpaug.augmenter.char as nac

        return nac.OcrAug


class SpellingNoise(_NlpaugNoise):
    """Replace ``aug_p`` of the words by a common misspelling of them (nlpaug's English list,
    from Coulombe 2018). Records ``changed``."""

    name = "spelling_noise"

    def __init__(self, aug_p: float = 0.1, aug_max: int = 10) -> None:
        self.aug_p = aug_p
        self.aug_max = aug_max

    def _build(self) -> Any:
        import nlpaug
        import nlpaug.augmenter.word as naw

        path = Path(nlpaug.__file__).parent / "res" / "word" / "spelling" / "spelling_en.txt"
        aug = naw.SpellingAug(
            dict_path=str(path),
            aug_p=self.aug_p,
            aug_max=self.aug_max,
            stopwords_regex=PLACEHOLDER_STOPWORDS_REGEX,
            tokenizer=_whitespace_tokens,
            reverse_tokenizer=_join,
        )
        # nlpaug dedups each word's misspellings through a set: their order (and so the draw)
        # would change with PYTHONHASHSEED. Sorted, the same seed gives the same typo anywhere.
        for key, values in aug.model.dict.items():
            aug.model.dict[key] = sorted(values)
        return aug
