"""Protected spans: the parts of a text that carry its meaning in contracts, invoices and notes
(numbers, amounts, percentages, dates, negations, obligation modals, a user glossary and regexes).

Operations never see them: :meth:`ProtectedSpans.mask` swaps each span for a placeholder token
that every operation skips, :meth:`ProtectedSpans.unmask` puts the original text back and refuses
(returns ``None``) when a placeholder was lost, duplicated or reordered. Operations that cannot
work on placeholders (translation, generation) are verified with :meth:`ProtectedSpans.check`.

Matching rules (documented, tested):

* numbers, amounts, percentages, dates, negations and modals match case-insensitively on word
  boundaries; glossary terms too (``glossary_case_sensitive=True`` to change that);
* spans that overlap are merged into one span covering both (a glossary term that overlaps
  another, ``"credit card"`` and ``"card fee"`` in ``"credit card fee"``, protects all three
  words); spans that only touch stay separate;
* comparison in :meth:`check` ignores case and runs of whitespace.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from augment.text import legal_terms

#: What replaces the i-th protected span while an operation runs: one "word" that no WordNet
#: entry, keyboard map or tokenizer touches; operations skip tokens matching PLACEHOLDER_RE.
PLACEHOLDER = "QQPROT{}QQ"
PLACEHOLDER_RE = re.compile(r"QQPROT(\d+)QQ")
#: For nlpaug's ``stopwords_regex`` (it matches tokens, possibly with surrounding punctuation).
PLACEHOLDER_STOPWORDS_REGEX = r".*QQPROT\d+QQ.*"


def holds_placeholder(word: str) -> bool:
    """True when ``word`` carries a protected span's placeholder (operations leave it alone)."""
    return "QQPROT" in word and PLACEHOLDER_RE.search(word) is not None


NEGATIONS = (
    "not",
    "no",
    "never",
    "nor",
    "neither",
    "none",
    "nobody",
    "nothing",
    "nowhere",
    "cannot",
    "without",
)
MODALS = ("shall", "must", "may", "might", "should", "ought")
NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand million billion trillion dozen half twice thrice first second third "
    "fourth fifth sixth seventh eighth ninth tenth"
).split()

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
_SCALE = r"(?:\s?(?:thousand|million|billion|trillion|k|m|bn|mn))?"
_CUR_SYM = r"[$€£¥₹₽₩]"
_CUR_CODE = r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|INR|CNY|RMB|SEK|NOK|DKK|PLN|BRL|MXN|ZAR)"
_CUR_WORD = r"(?:dollars?|euros?|pounds?(?:\s+sterling)?|cents?|pence|yen|francs?|rupees?)"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"

# Order matters where two start at the same place: the longer kinds come first.
_BUILTIN = {
    "date": "|".join(
        [
            r"\d{4}-\d{1,2}-\d{1,2}",
            r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}",
            rf"{_MONTH}\.?\s+{_DAY}(?:,?\s+\d{{4}})?(?![\w])",
            rf"{_DAY}\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+\d{{4}})?(?![\w])",
            rf"{_MONTH}\.?,?\s+\d{{4}}",
        ]
    ),
    "amount": "|".join(
        [
            rf"(?:{_CUR_SYM}|\b{_CUR_CODE}\b)\s?-?{_NUM}{_SCALE}\b",
            rf"\b{_NUM}{_SCALE}\s?(?:{_CUR_SYM}|{_CUR_CODE}\b|{_CUR_WORD}\b)",
        ]
    ),
    "percentage": rf"\b{_NUM}\s?(?:%|percent\b|per\s+cent\b|pct\b|percentage\s+points?\b|"
    r"basis\s+points?\b|bps\b)",
    "number": rf"(?<![\w.]){_NUM}(?:st|nd|rd|th)?\b",
}


#: The kinds ``ProtectedSpans(legal=True)`` finds (:mod:`augment.text.legal_terms`).
LEGAL_KINDS = (
    "duration",
    "quantity",
    "defined_term",
    "definition",
    "reference",
    "party",
    "term_of_art",
)
_LEGAL_FINDERS = {
    "duration": (legal_terms.durations,),
    "quantity": (legal_terms.quantities,),
    "defined_term": (legal_terms.defined_terms,),
    "definition": (legal_terms.definitions,),
    "reference": (legal_terms.references,),
    # role words ("party", "tenant") are looked up as single words
    "party": (legal_terms.companies, legal_terms.party_phrases),
    "term_of_art": (legal_terms.terms_of_art,),
}


@dataclass(frozen=True)
class Span:
    """One protected span: ``text[start:end]`` of kind ``kind`` (e.g. ``"amount"``; a span
    inside another takes the outer one's kind; partly overlapping spans are merged and name
    both kinds, e.g. ``"glossary+amount"``)."""

    start: int
    end: int
    kind: str
    text: str


@dataclass(frozen=True)
class Masked:
    """A text whose protected spans were replaced by placeholders, and those spans."""

    text: str
    spans: tuple[Span, ...]


class ProtectedSpans:
    """Which spans of a text no operation may alter.

    Parameters
    ----------
    numbers, amounts, percentages, dates:
        Protect digits and number words, amounts with a currency (``$1,200``, ``EUR 30``,
        ``40 dollars``), percentages (``4.5%``, ``12 percent``) and dates (``2024-03-01``,
        ``1 March 2024``, ``March 1st, 2024``, ``03/01/24``).
    negations:
        Words that flip meaning; ``True`` for :data:`NEGATIONS` plus every ``-n't`` contraction,
        or a list of your own words.
    modals:
        Modal verbs that carry obligation or permission; ``True`` for :data:`MODALS` (``shall``,
        ``must``, ``may``, ...), or a list of your own.
    glossary:
        Terms to keep verbatim (product names, defined terms such as ``"the Tenant"``).
    patterns:
        Regular expressions; every match is protected (e.g. ``r"\\bINV-\\d+\\b"``).
    glossary_case_sensitive:
        Match glossary terms with their case (default: any case).
    legal:
        The spans of contracts and financial terms that need no glossary (see
        :mod:`augment.text.legal_terms`): ``True`` for all of :data:`LEGAL_KINDS` (durations
        and quantities with their unit, capitalised defined terms, quoted definitions, section
        and clause references, party names, terms of art such as "no later than"), or a list
        of those kind names.
    ordered:
        Whether :meth:`check` wants the spans in the source's order (``True``, right for word
        operations) or only each of them present, as often as in the source (``False``, for
        paraphrases that may move "within 30 days" to the front of the sentence).
    """

    def __init__(
        self,
        numbers: bool = True,
        amounts: bool = True,
        percentages: bool = True,
        dates: bool = True,
        negations: bool | Sequence[str] = True,
        modals: bool | Sequence[str] = True,
        glossary: Sequence[str] = (),
        patterns: Sequence[str] = (),
        glossary_case_sensitive: bool = False,
        legal: bool | Sequence[str] = False,
        ordered: bool = True,
    ) -> None:
        self.numbers = numbers
        self.amounts = amounts
        self.percentages = percentages
        self.dates = dates
        self.negations = negations
        self.modals = modals
        self.glossary = glossary
        self.patterns = patterns
        self.glossary_case_sensitive = glossary_case_sensitive
        self.legal = legal
        self.ordered = ordered

    @classmethod
    def disabled(cls) -> ProtectedSpans:
        """Protect nothing."""
        return cls(False, False, False, False, False, False)

    # ------------------------------------------------------------------ regexes (built lazily)
    @cached_property
    def _digit_re(self) -> re.Pattern | None:
        """Dates, amounts, percentages and numbers written with digits: all need a digit, so
        this regex only runs on texts that have one."""
        parts = []
        for kind, flag in (
            ("date", self.dates),
            ("amount", self.amounts),
            ("percentage", self.percentages),
            ("number", self.numbers),
        ):
            if flag:
                parts.append(f"(?P<{kind}>{_BUILTIN[kind]})")
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    @cached_property
    def _word_kinds(self) -> tuple[dict[str, str], re.Pattern | None, bool]:
        """One-word terms (looked up per word: much faster than a regex alternation), a regex
        for terms of several words, and whether ``-n't`` contractions are negations."""
        single: dict[str, str] = {}
        multi: list[tuple[str, str]] = []
        groups = []
        if self.numbers:
            groups.append(("number", NUMBER_WORDS))
        if self.negations:
            groups.append(("negation", NEGATIONS if self.negations is True else self.negations))
        if self.modals:
            groups.append(("modal", MODALS if self.modals is True else self.modals))
        if "party" in self._legal_kinds:
            groups.append(("party", legal_terms.PARTY_WORDS))
        for kind, words in groups:
            for w in words:
                w = " ".join(w.split()).lower()
                if " " in w or not _WORD.fullmatch(w):
                    multi.append((kind, w))
                else:
                    single.setdefault(w, kind)
        multi_re = None
        if multi:
            alt = "|".join(
                f"(?P<{k}_{i}>" + r"\s+".join(re.escape(p) for p in w.split()) + ")"
                for i, (k, w) in enumerate(multi)
            )
            multi_re = re.compile(r"(?<!\w)(?:" + alt + r")(?!\w)", re.IGNORECASE)
        return single, multi_re, bool(self.negations)

    @cached_property
    def _glossary_re(self) -> re.Pattern | None:
        terms = [t.strip() for t in self.glossary if t and t.strip()]
        if not terms:
            return None
        # A lookahead finds overlapping terms too: every start position is tried.
        alt = _alt(terms)
        flags = 0 if self.glossary_case_sensitive else re.IGNORECASE
        return re.compile(rf"(?=(?<!\w)({alt})(?!\w))", flags)

    @cached_property
    def _legal_kinds(self) -> tuple[str, ...]:
        if not self.legal:
            return ()
        kinds = LEGAL_KINDS if self.legal is True else tuple(self.legal)
        unknown = sorted(set(kinds) - set(LEGAL_KINDS))
        if unknown:
            raise ValueError(f"unknown legal span kinds {unknown} (known: {list(LEGAL_KINDS)})")
        return kinds

    @cached_property
    def _user_res(self) -> list[re.Pattern]:
        return [re.compile(p) for p in self.patterns]

    # ------------------------------------------------------------------ finding
    def find(self, text: str) -> list[Span]:
        """The protected spans of ``text``, sorted, overlapping ones merged."""
        if not text:
            return []
        raw: list[tuple[int, int, str]] = []
        if self._digit_re is not None and _DIGIT.search(text):
            for m in self._digit_re.finditer(text):
                raw.append((m.start(), m.end(), m.lastgroup or "protected"))
        single, multi_re, contractions = self._word_kinds
        if single or contractions:
            # Set operations in C find which protected words occur at all; only those are
            # then located, with a regex cached per combination.
            lower = text.lower()
            toks = set(_WORD.findall(lower))
            hits = toks.intersection(single)
            if contractions and ("n't" in lower or "n’t" in lower):
                hits.update(t for t in toks if t.endswith(("n't", "n’t")))
            if hits:
                for m in _words_re(frozenset(hits)).finditer(text):
                    raw.append((m.start(), m.end(), single.get(m.group().lower(), "negation")))
        if multi_re is not None:
            for m in multi_re.finditer(text):
                raw.append((m.start(), m.end(), (m.lastgroup or "protected").rsplit("_", 1)[0]))
        if self._glossary_re is not None:
            for m in self._glossary_re.finditer(text):
                raw.append((m.start(1), m.end(1), "glossary"))
        for kind in self._legal_kinds:
            finder = _LEGAL_FINDERS.get(kind)
            if finder is not None:
                for finder_ in finder:
                    raw.extend(finder_(text))
        for rx in self._user_res:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    raw.append((m.start(), m.end(), "pattern"))
        if not raw:
            return []
        raw.sort()
        merged: list[list[Any]] = []
        for s, e, k in raw:
            if merged and s < merged[-1][1]:
                last = merged[-1]
                if e > last[1]:  # partial overlap: the span grows and names both kinds
                    last[1] = e
                    if k not in last[2]:
                        last[2].append(k)
            else:
                merged.append([s, e, [k]])
        return [Span(s, e, "+".join(k), text[s:e]) for s, e, k in merged]

    def mask(self, text: str) -> Masked:
        """``text`` with each protected span replaced by its placeholder."""
        spans = tuple(self.find(text))
        if not spans:
            return Masked(text, ())
        out, pos = [], 0
        for i, sp in enumerate(spans):
            out.append(text[pos : sp.start])
            out.append(PLACEHOLDER.format(i))
            pos = sp.end
        out.append(text[pos:])
        return Masked("".join(out), spans)

    @staticmethod
    def unmask(text: str, spans: Sequence[Span]) -> str | None:
        """Put the spans back; ``None`` if a placeholder is missing, repeated or out of order."""
        if not spans:
            return None if PLACEHOLDER_RE.search(text) else text
        found = [int(m.group(1)) for m in PLACEHOLDER_RE.finditer(text)]
        if found != list(range(len(spans))):
            return None
        return PLACEHOLDER_RE.sub(lambda m: spans[int(m.group(1))].text, text)

    # ------------------------------------------------------------------ checking
    def check(self, source: str, candidate: str) -> str | None:
        """What protected span ``candidate`` broke, in words; ``None`` if all survived.

        The candidate must hold the same protected spans as the source, in the same order
        (compared ignoring case and whitespace runs): none missing, none added.
        """
        if not isinstance(source, str) or not isinstance(candidate, str):
            return None  # not text: the filter's validity check names it
        return self.compare(self.find(source), candidate, source)

    def compare(
        self, source_spans: Sequence[Span], candidate: str, source: str | None = None
    ) -> str | None:
        """:meth:`check` with the source's spans already found (``source``, its text, when at
        hand: the unordered check counts added spans in it)."""
        a = [(_norm(s.text), s.kind) for s in source_spans]
        b = [(_norm(s.text), s.kind) for s in self.find(candidate)]
        if [t for t, _ in a] == [t for t, _ in b]:
            return None
        ca, cb = Counter(t for t, _ in a), Counter(t for t, _ in b)
        kinds = dict(a + b)
        if not self.ordered:
            # each source span must occur as often, counted in the text itself (a moved span
            # may fall on a sentence start, where a defined term is not found as one); a span
            # the candidate adds must not be one the source lacks
            present = _occurrences(_norm(candidate), ca)
            missing = list((ca - present).elements())
            if missing:
                t = missing[0]
                return f"protected {kinds[t]} {t!r} is missing from the candidate"
            in_source = _occurrences(_norm(source), cb) if source is not None else ca
            added = [t for t in cb if cb[t] > max(ca[t], in_source[t])]
            if added:
                t = added[0]
                return f"the candidate adds protected {kinds[t]} {t!r}"
            return None
        missing = list((ca - cb).elements())
        if missing:
            t = missing[0]
            return f"protected {kinds[t]} {t!r} is missing from the candidate"
        added = list((cb - ca).elements())
        if added:
            t = added[0]
            return f"the candidate adds protected {kinds[t]} {t!r}"
        return "protected spans appear in a different order in the candidate"

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        def lst(v: Any) -> Any:
            return v if isinstance(v, bool) else list(v)

        return {
            "numbers": self.numbers,
            "amounts": self.amounts,
            "percentages": self.percentages,
            "dates": self.dates,
            "negations": lst(self.negations),
            "modals": lst(self.modals),
            "glossary": list(self.glossary),
            "patterns": list(self.patterns),
            "glossary_case_sensitive": self.glossary_case_sensitive,
            "legal": lst(self.legal),
            "ordered": self.ordered,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProtectedSpans:
        return cls(**d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProtectedSpans) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ProtectedSpans({self.to_dict()})"

    def __getstate__(self) -> dict[str, Any]:  # compiled regexes are rebuilt after unpickling
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


@lru_cache(maxsize=4096)
def _words_re(words: frozenset[str]) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z'’])(?:{_alt(tuple(words))})(?![A-Za-z'’])", re.IGNORECASE)


def _alt(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _occurrences(text: str, terms: Counter) -> Counter:
    """How often each of ``terms`` occurs in ``text`` as whole words."""
    return Counter({t: len(re.findall(rf"(?<!\w){re.escape(t)}(?!\w)", text)) for t in terms})


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


__all__ = [
    "LEGAL_KINDS",
    "MODALS",
    "NEGATIONS",
    "PLACEHOLDER",
    "PLACEHOLDER_RE",
    "holds_placeholder",
    "Masked",
    "ProtectedSpans",
    "Span",
]
