"""The spans that carry a contract's meaning beyond its numbers, found without a glossary:
durations and quantities with their unit, capitalised defined terms, quoted definitions,
section and clause references, party names and a few terms of art.

Each finder returns ``(start, end, kind)`` triples for
:class:`~augment.text.protected.ProtectedSpans` to merge with the other kinds. Rules (tested
in tests/test_text_legal_spans.py):

* **duration** / **quantity**: a number (digits or words, ``"thirty (30)"`` too) and its unit,
  ``"30 days"``, ``"12 months"``, ``"5 business days"``, ``"250 units"``, ``"2,000 square feet"``;
  a notice period keeps what follows it: ``"60 days' written notice"``.
* **defined_term**: a run of capitalised words inside a sentence (``"Effective Date"``,
  ``"Agreement"``, ``"Goods"``, ``"the Premises"`` protects ``"Premises"``), leading function
  words dropped (``"The"``, ``"Either"``). A capitalised word that only starts a sentence is an
  ordinary word (``"Payment is due"``) unless it starts a run of two or more (``"Effective Date
  means"``) or the same text holds it capitalised elsewhere. ``"I"`` and one-letter words are
  not terms.
* **definition**: a capitalised term in quotes, ``"Effective Date"`` or ``(the “Services”)``,
  quotes included.
* **reference**: ``"Section 4.2"``, ``"clause 7(b)"``, ``"Article IV"``, ``"Schedule 2"``,
  ``"Exhibit A"``, ``"Sections 3 and 4"``.
* **party**: the role words of contracts (``party``, ``landlord``, ``licensee``, ...; any case),
  with the quantifier that says who is bound (``"Either party"``, ``"the other party"``), and
  company names with a legal suffix (``"Acme Holdings Ltd."``).
* **term_of_art**: fixed phrases whose words must not be swapped one by one (``"no later than"``,
  ``"written notice"``, ``"prior written consent"``, ``"force majeure"``, ...).
"""

from __future__ import annotations

import re

from augment.text.stopwords import STOPWORDS

_NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|"
    r"five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|a\s+hundred|"
    r"one\s+hundred|hundred|a|an|several|half\s+a)"
)
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
#: A number in words, digits, or both as contracts write it: "thirty (30)".
_COUNT = rf"(?:{_DIGITS}|{_NUMBER_WORD}(?:\s*\(\s*{_DIGITS}\s*\))?)"
_TIME_UNIT = (
    r"(?:(?:business|calendar|working|banking|consecutive|full)\s+)?"
    r"(?:seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|quarters?|years?|decades?)"
)
_QUANTITY_UNIT = (
    r"(?:units?|items?|pieces?|copies|cop(?:y)|shares?|licen[cs]es?|seats?|users?|employees?|"
    r"instal?lments?|payments?|pallets?|cartons?|boxes|tonnes?|tons?|kg|kilograms?|grams?|"
    r"lbs?|litres?|liters?|ml|gallons?|barrels?|metres?|meters?|km|kilometres?|kilometers?|"
    r"miles?|feet|foot|ft|inches|square\s+(?:feet|foot|metres?|meters?|miles?)|sq\.?\s?ft|"
    r"acres?|hectares?|kwh|mwh|megawatts?|kilowatts?)"
)
_NOTICE = r"(?:['’]s?)?(?:\s+(?:prior\s+)?(?:written\s+|advance\s+)?notice)?"
_DURATION_RE = re.compile(
    rf"(?<![\w.]){_COUNT}(?:\s+|-){_TIME_UNIT}(?:{_NOTICE})(?![\w])", re.IGNORECASE
)
_QUANTITY_RE = re.compile(rf"(?<![\w.]){_COUNT}\s?{_QUANTITY_UNIT}(?![\w])", re.IGNORECASE)

_REFERENCE_RE = re.compile(
    r"(?<!\w)(?i:sections?|clauses?|sub-?clauses?|articles?|schedules?|exhibits?|annex(?:es)?|"
    r"appendix|appendices|paragraphs?|recitals?|parts?|§+)\s*"
    r"(?:\d+(?:\.\d+)*[A-Za-z]?|[A-Z](?![A-Za-z])|[IVXLC]+(?![A-Za-z]))(?:\s?\([a-z0-9]{1,4}\))*"
    r"(?:\s*(?:,|and|or|to|through)\s+(?:\d+(?:\.\d+)*[A-Za-z]?|[A-Z](?![A-Za-z]))"
    r"(?:\s?\([a-z0-9]{1,4}\))*)*"
)
_DEFINITION_RE = re.compile(r"[\"“”]([A-Z][^\"“”\n]{0,60}?)[\"”“]")

PARTY_WORDS = (
    "party parties landlord landlords tenant tenants lessor lessee licensor licensee licensors "
    "licensees buyer buyers seller sellers purchaser purchasers vendor vendors supplier suppliers "
    "customer customers client clients contractor contractors subcontractor subcontractors "
    "employer employee employees borrower borrowers lender lenders guarantor guarantors "
    "consultant consultants provider providers recipient recipients discloser assignee assignor "
    "counterparty counterparties franchisor franchisee insurer insured"
).split()
_COMPANY_RE = re.compile(
    r"(?:[A-Z][\w&'’.-]*\s+){1,4}(?:Inc|Ltd|LLC|LLP|PLC|plc|GmbH|AG|S\.A|N\.V|B\.V|Corp|"
    r"Corporation|Limited|Holdings|Co)\b\.?"
)
TERMS_OF_ART = (
    "no later than",
    "not later than",
    "no less than",
    "not less than",
    "no more than",
    "not more than",
    "at least",
    "at most",
    "up to",
    "prior written consent",
    "written consent",
    "written notice",
    "in writing",
    "best efforts",
    "reasonable efforts",
    "commercially reasonable efforts",
    "good faith",
    "force majeure",
    "jointly and severally",
    "without prejudice",
    "time is of the essence",
    "sole discretion",
    "gross negligence",
    "wilful misconduct",
    "willful misconduct",
    "material breach",
    "governing law",
    "due date",
)
_TERM_OF_ART_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(r"\s+".join(map(re.escape, t.split())) for t in sorted(TERMS_OF_ART, key=len)[::-1])
    + r")(?!\w)",
    re.IGNORECASE,
)

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_CONNECTORS = frozenset({"of", "and", "for", "to", "in", "on", "under"})
_SENTENCE_END = re.compile(r"(?:[.!?:;]|\n\s*\n)[\s\"“'‘(\[]*$")
_OPENERS = " \t\n\"“'‘(["
_NOT_TERMS = frozenset({"I", "OK"})
#: Words that open a capitalised run without being part of the term ("Either Party").
_LEADING = STOPWORDS | frozenset(
    "either neither every another said whereas provided notwithstanding".split()
)


def durations(text: str) -> list[tuple[int, int, str]]:
    """Durations and notice periods with their unit."""
    return [(m.start(), m.end(), "duration") for m in _DURATION_RE.finditer(text)]


def quantities(text: str) -> list[tuple[int, int, str]]:
    """Counts and measures with their unit."""
    return [(m.start(), m.end(), "quantity") for m in _QUANTITY_RE.finditer(text)]


def references(text: str) -> list[tuple[int, int, str]]:
    """Section, clause, article, schedule and exhibit references."""
    return [(m.start(), m.end(), "reference") for m in _REFERENCE_RE.finditer(text)]


def definitions(text: str) -> list[tuple[int, int, str]]:
    """Quoted capitalised terms (quotes included)."""
    return [(m.start(), m.end(), "definition") for m in _DEFINITION_RE.finditer(text)]


def companies(text: str) -> list[tuple[int, int, str]]:
    """Company names with a legal suffix."""
    out = []
    for m in _COMPANY_RE.finditer(text):
        s = m.start()
        # "The Supplier, Acme Ltd." -> the name starts after leading function words
        words = list(_TOKEN.finditer(m.group()))
        for w in words[:-1]:
            if w.group().lower() not in STOPWORDS:
                break
            s = m.start() + w.end() + 1
        if s < m.end():
            out.append((s, m.end(), "party"))
    return out


_PARTY_PHRASE_RE = re.compile(
    r"(?<!\w)(?:either|neither|each|any|both|all|no|the\s+other|other|third)\s+part(?:y|ies)(?!\w)",
    re.IGNORECASE,
)


def party_phrases(text: str) -> list[tuple[int, int, str]]:
    """ "Either party", "each party", "the other party": the quantifier decides who is bound."""
    return [(m.start(), m.end(), "party") for m in _PARTY_PHRASE_RE.finditer(text)]


def terms_of_art(text: str) -> list[tuple[int, int, str]]:
    """Fixed legal phrases (:data:`TERMS_OF_ART`)."""
    return [(m.start(), m.end(), "term_of_art") for m in _TERM_OF_ART_RE.finditer(text)]


def defined_terms(text: str) -> list[tuple[int, int, str]]:
    """Capitalised defined terms inside sentences (see the module docstring for the rules)."""
    toks = list(_TOKEN.finditer(text))
    runs: list[list[tuple[re.Match[str], bool]]] = []  # tokens of a run, and sentence-initial
    run: list[tuple[re.Match[str], bool]] = []
    prev_end = 0
    for i, t in enumerate(toks):
        word = t.group()
        gap = text[prev_end : t.start()]
        if i == 0:
            initial = not gap.strip(_OPENERS)
        else:
            initial = _SENTENCE_END.search(gap) is not None
        capital = word[0].isupper() and word not in _NOT_TERMS and len(word) > 1
        joined = run and (gap == " " or gap == "-") and not initial
        if capital and joined:
            run.append((t, initial))
        elif (
            not capital
            and run
            and word in _CONNECTORS
            and gap == " "
            and i + 1 < len(toks)
            and toks[i + 1].group()[0].isupper()
            and text[t.end() : toks[i + 1].start()] == " "
        ):
            run.append((t, initial))  # "Statement of Work": a connector inside a run
        else:
            if run:
                runs.append(run)
            run = [(t, initial)] if capital else []
        prev_end = t.end()
    if run:
        runs.append(run)

    found: list[tuple[int, int, bool]] = []
    for r in runs:
        while r and (r[0][0].group().lower() in _LEADING or r[0][0].group() in _CONNECTORS):
            r = r[1:]  # "The Tenant" -> "Tenant"; "Either Party" -> "Party"
        while r and r[-1][0].group() in _CONNECTORS:
            r = r[:-1]
        if not r:
            continue
        capitals = sum(1 for t, _ in r if t.group()[0].isupper())
        first_initial = r[0][1]
        if first_initial and capitals < 2:
            found.append((r[0][0].start(), _end(r[-1][0]), True))  # decided below
            continue
        found.append((r[0][0].start(), _end(r[-1][0]), False))
    inside = {text[s:e] for s, e, initial in found if not initial}
    return [(s, e, "defined_term") for s, e, initial in found if not initial or text[s:e] in inside]


def _end(token: re.Match[str]) -> int:
    """Where a term ends: before a possessive ("the Landlord's consent" protects "Landlord")."""
    word = token.group()
    if word.endswith(("'s", "’s")):
        return token.end() - 2
    if word.endswith(("s'", "s’")):
        return token.end() - 1
    return token.end()
