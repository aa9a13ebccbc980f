"""Back-translation through Apertium (rule-based, offline: Debian ``apertium`` +
``apertium-eng-spa``), run as a subprocess.

Rule-based translation is deterministic and noisy: it is a good source of real paraphrases and
of real meaning drift, which is what the fidelity filter is for. It works on raw text (it cannot
be handed placeholders), so the pipeline verifies protected spans afterwards and reverts the
output for that sample when one broke.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import OrderedDict
from typing import Any

from augment.text.base import TextOperation


class ApertiumUnavailable(RuntimeError):
    """The apertium binary or the language pair is not installed."""


class ApertiumBackTranslation(TextOperation):
    """English -> ``pivot`` -> English with Apertium.

    Parameters
    ----------
    source, pivot:
        Apertium language codes; the modes ``{source}-{pivot}`` and ``{pivot}-{source}`` must be
        installed (``apertium -l`` lists them; ``eng``/``spa`` come with ``apertium-eng-spa``).
    timeout:
        Seconds for one translation before it fails (the row is recorded as an error).
    cache_size:
        Translations are deterministic: the last ``cache_size`` results are kept, so variants of
        one source translate once.

    Records ``pivot_text`` (the intermediate translation). Apertium marks unknown words with
    ``*``; ``-u`` drops the marks, so unknown words (names, codes) pass through unchanged.
    Whitespace runs (line breaks included) come back as single spaces.
    """

    name = "backtranslation_apertium"
    masks_protected = False

    def __init__(
        self, source: str = "eng", pivot: str = "spa", timeout: float = 60.0, cache_size: int = 4096
    ) -> None:
        self.source = source
        self.pivot = pivot
        self.timeout = timeout
        self.cache_size = cache_size

    @staticmethod
    def available(source: str = "eng", pivot: str = "spa") -> str | None:
        """``None`` when the pair can run here, else what is missing, in words."""
        exe = shutil.which("apertium")
        if exe is None:
            return (
                "the apertium binary is not installed (apt-get install apertium apertium-eng-spa)"
            )
        modes = subprocess.run([exe, "-l"], capture_output=True, text=True).stdout.split()
        for mode in (f"{source}-{pivot}", f"{pivot}-{source}"):
            if mode not in modes:
                return (
                    f"apertium mode {mode} is not installed (apt-get install "
                    f"apertium-{source}-{pivot}; installed: {' '.join(modes) or 'none'})"
                )
        return None

    def _translate(self, text: str, mode: str) -> str:
        exe = shutil.which("apertium")
        if exe is None:
            raise ApertiumUnavailable(self.available(self.source, self.pivot) or "apertium missing")
        proc = subprocess.run(
            [exe, "-u", mode], input=text, capture_output=True, text=True, timeout=self.timeout
        )
        if proc.returncode != 0:
            raise ApertiumUnavailable(
                f"apertium {mode} failed ({proc.returncode}): {proc.stderr.strip()[:300]}"
            )
        return " ".join(proc.stdout.split())  # apertium pads with stray spaces

    def translate_round_trip(self, text: str) -> tuple[str, str]:
        """``(pivot_text, back_text)`` for ``text`` (cached)."""
        cache = getattr(self, "_cache", None)
        if cache is None:
            cache = self._cache = OrderedDict()
        hit = cache.get(text)
        if hit is not None:
            cache.move_to_end(text)
            return hit
        pivot = self._translate(text, f"{self.source}-{self.pivot}")
        back = self._translate(pivot, f"{self.pivot}-{self.source}")
        cache[text] = (pivot, back)
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return pivot, back

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        pivot, back = self.translate_round_trip(text)
        return back, {"pivot": self.pivot, "pivot_text": pivot}
