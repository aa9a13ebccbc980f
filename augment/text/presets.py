"""Ready pipelines for the domains this library targets. Each says what it does and why; all
run offline (WordNet from ``wordnet-base``, nlpaug's bundled resources; Apertium only where
asked for).

=========  ===========================================================================
legal      Contracts, policies, financial terms: meaning must not move. One WordNet
           synonym per ten words, from the first sense of the part of speech spaCy tags
           (attested in WordNet's tagged corpus); nothing deleted, swapped or
           misspelt. Everything protected: numbers, amounts, percentages, dates,
           negations, modals (shall/must/may), durations and quantities with their
           unit ("60 days' written notice"), capitalised defined terms and quoted
           definitions found without a glossary ("Effective Date", "Goods"), section
           and clause references, party names, terms of art ("no later than"), and
           your glossary. Apertium
           back-translation on request (``backtranslation=True``): it often rewrites
           "shall", and those outputs are reverted.
support    Customer tickets: informal, typo-ridden, short. One of synonym replacement,
           swap or deletion, then (one time in three) a keyboard slip or a common
           misspelling, the way real tickets look. Protects numbers, amounts, dates,
           negations ("not working" is not "working"), order/ticket ids, e-mails, URLs.
clinical   Clinical notes: negation cues decide the meaning ("denies chest pain"), so
           the negation list is extended (denies, negative for, absent, ruled out, ...);
           doses with units, vital signs and dates are protected. Low-rate synonym
           replacement (most frequent sense) or a small swap, and OCR noise one time in
           five (scanned notes).
eda        The EDA paper's recipe (Wei & Zou 2019): one of synonym replacement, random
           insertion, random swap, random deletion, each changing ``alpha`` of the words
           (0.1; the paper suggests 0.05 for ~500 training rows). Negations and numbers are
           protected, so a sentiment or a count does not flip.
=========  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

from augment.text.eda import RandomDeletion, RandomInsertion, RandomSwap
from augment.text.noise import KeyboardNoise, OcrNoise, SpellingNoise
from augment.text.pipeline import OneOf, Sometimes, Step, TextPipeline
from augment.text.protected import NEGATIONS, ProtectedSpans
from augment.text.synonyms import SynonymReplacement

PRESETS = ("legal", "support", "clinical", "eda")

#: Identifiers that support tickets carry: order/ticket numbers, e-mail addresses, URLs.
SUPPORT_PATTERNS = (
    r"\b[A-Z]{2,}[-#]?\d{3,}\b",
    r"#\d+\b",
    r"\b[\w.+-]+@[\w-]+\.[\w.]+\b",
    r"\bhttps?://\S+",
)
#: Negation cues of clinical text (NegEx's most common ones) on top of the general list.
CLINICAL_NEGATIONS = NEGATIONS + (
    "denies",
    "denied",
    "deny",
    "negative",
    "absent",
    "free of",
    "ruled out",
    "rules out",
    "unremarkable",
    "resolved",
    "no evidence of",
    "not seen",
    "fails to reveal",
)
#: Doses, rates and measurements with their unit, kept whole.
CLINICAL_PATTERNS = (
    r"\b\d+(?:\.\d+)?\s?(?:mg|mcg|µg|g|kg|ml|mL|l|L|units?|IU|mmol|mmHg|bpm|cm|mm|°C|°F|"
    r"mg/dL|mg/kg|mEq)\b",
    r"\b\d{2,3}/\d{2,3}\b",  # blood pressure
    r"\b(?:q\.?d|b\.?i\.?d|t\.?i\.?d|q\.?i\.?d|p\.?r\.?n|p\.?o|i\.?v)\b\.?",
)


def preset(
    name: str,
    glossary: Sequence[str] = (),
    patterns: Sequence[str] = (),
    backtranslation: bool = False,
    alpha: float = 0.1,
) -> TextPipeline:
    """The pipeline named ``name`` (one of :data:`PRESETS`).

    ``glossary`` and ``patterns`` add protected terms and regexes to the preset's own;
    ``backtranslation`` adds Apertium back-translation (``legal`` and ``support``; needs the
    Debian packages); ``alpha`` is the share of words the ``eda`` preset changes.
    """
    glossary, patterns = tuple(glossary), tuple(patterns)
    if name == "legal":
        steps: list[Step] = [
            SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1, pos_tagger="spacy")
        ]
        if backtranslation:
            from augment.text.backtranslation import ApertiumBackTranslation

            steps = [OneOf([steps[0], ApertiumBackTranslation()])]
        prot = ProtectedSpans(glossary=glossary, patterns=patterns, legal=True)
        return TextPipeline(steps, prot, name="legal")
    if name == "support":
        edit: list[Step] = [
            SynonymReplacement(aug_p=0.15),
            RandomSwap(aug_p=0.1),
            RandomDeletion(aug_p=0.1),
        ]
        if backtranslation:
            from augment.text.backtranslation import ApertiumBackTranslation

            edit.append(ApertiumBackTranslation())
        steps = [
            OneOf(edit),
            Sometimes(OneOf([KeyboardNoise(aug_word_p=0.1), SpellingNoise(aug_p=0.1)]), p=1 / 3),
        ]
        prot = ProtectedSpans(modals=False, glossary=glossary, patterns=SUPPORT_PATTERNS + patterns)
        return TextPipeline(steps, prot, name="support")
    if name == "clinical":
        steps = [
            OneOf(
                [
                    SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1),
                    RandomSwap(aug_p=0.05, aug_max=2),
                ]
            ),
            Sometimes(OcrNoise(aug_word_p=0.05), p=0.2),
        ]
        prot = ProtectedSpans(
            negations=CLINICAL_NEGATIONS, glossary=glossary, patterns=CLINICAL_PATTERNS + patterns
        )
        return TextPipeline(steps, prot, name="clinical")
    if name == "eda":
        steps = [
            OneOf(
                [
                    SynonymReplacement(aug_p=alpha),
                    RandomInsertion(aug_p=alpha),
                    RandomSwap(aug_p=alpha),
                    RandomDeletion(aug_p=alpha),
                ]
            )
        ]
        prot = ProtectedSpans(modals=False, dates=False, glossary=glossary, patterns=patterns)
        return TextPipeline(steps, prot, name="eda")
    raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
