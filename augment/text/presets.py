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

from collections.abc import Callable, Sequence

from augment.text.compose import OneOf, Sometimes, Step
from augment.text.eda import RandomDeletion, RandomInsertion, RandomSwap
from augment.text.noise import KeyboardNoise, OcrNoise, SpellingNoise
from augment.text.protected import NEGATIONS, ProtectedSpans
from augment.text.synonyms import SynonymReplacement

#: What a preset builder returns: the steps and the protected spans of a ``TextPipeline``.
Preset = tuple[list[Step], ProtectedSpans]

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


def legal(
    glossary: Sequence[str] = (), patterns: Sequence[str] = (), backtranslation: bool = False
) -> Preset:
    """Contracts and policies: one most-frequent-sense synonym per ten words; everything
    protected, ``glossary`` and ``patterns`` too; Apertium back-translation on request."""
    steps: list[Step] = [
        SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1, pos_tagger="spacy")
    ]
    if backtranslation:
        from augment.text.backtranslation import ApertiumBackTranslation

        steps = [OneOf([steps[0], ApertiumBackTranslation()])]
    return steps, ProtectedSpans(glossary=tuple(glossary), patterns=tuple(patterns), legal=True)


def support(
    glossary: Sequence[str] = (), patterns: Sequence[str] = (), backtranslation: bool = False
) -> Preset:
    """Customer tickets: one word edit, then a keyboard slip or misspelling one time in three;
    ids, e-mails and URLs protected besides numbers, dates and negations (modals are not)."""
    edit: list[Step] = [
        SynonymReplacement(aug_p=0.15),
        RandomSwap(aug_p=0.1),
        RandomDeletion(aug_p=0.1),
    ]
    if backtranslation:
        from augment.text.backtranslation import ApertiumBackTranslation

        edit.append(ApertiumBackTranslation())
    steps: list[Step] = [
        OneOf(edit),
        Sometimes(OneOf([KeyboardNoise(aug_word_p=0.1), SpellingNoise(aug_p=0.1)]), p=1 / 3),
    ]
    prot = ProtectedSpans(
        modals=False, glossary=tuple(glossary), patterns=SUPPORT_PATTERNS + tuple(patterns)
    )
    return steps, prot


def clinical(glossary: Sequence[str] = (), patterns: Sequence[str] = ()) -> Preset:
    """Clinical notes: low-rate synonyms or a small swap, OCR noise one time in five; the
    clinical negation cues, doses, vital signs and dates protected."""
    steps: list[Step] = [
        OneOf(
            [
                SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1),
                RandomSwap(aug_p=0.05, aug_max=2),
            ]
        ),
        Sometimes(OcrNoise(aug_word_p=0.05), p=0.2),
    ]
    prot = ProtectedSpans(
        negations=CLINICAL_NEGATIONS,
        glossary=tuple(glossary),
        patterns=CLINICAL_PATTERNS + tuple(patterns),
    )
    return steps, prot


def eda(glossary: Sequence[str] = (), patterns: Sequence[str] = (), alpha: float = 0.1) -> Preset:
    """The EDA paper's recipe: one of synonym replacement, insertion, swap and deletion, each
    changing ``alpha`` of the words; negations and numbers protected."""
    steps: list[Step] = [
        OneOf(
            [
                SynonymReplacement(aug_p=alpha),
                RandomInsertion(aug_p=alpha),
                RandomSwap(aug_p=alpha),
                RandomDeletion(aug_p=alpha),
            ]
        )
    ]
    prot = ProtectedSpans(
        modals=False, dates=False, glossary=tuple(glossary), patterns=tuple(patterns)
    )
    return steps, prot


#: Preset name -> builder of its steps and protected spans (keyword options: ``glossary`` and
#: ``patterns`` add protected terms and regexes; ``backtranslation`` for ``legal`` and
#: ``support``; ``alpha`` for ``eda``). ``TextPipeline.from_preset(name, **options)`` runs one.
PRESETS: dict[str, Callable[..., Preset]] = {
    "legal": legal,
    "support": support,
    "clinical": clinical,
    "eda": eda,
}
