"""Protected spans: what is found, how overlaps merge, and that no operation alters them."""

from __future__ import annotations

import re

import pytest

from augment.text import (
    KeyboardNoise,
    OcrNoise,
    ProtectedSpans,
    RandomDeletion,
    RandomInsertion,
    RandomSwap,
    SpellingNoise,
    SynonymReplacement,
    TextPipeline,
)


@pytest.fixture(scope="module")
def wordnet():
    from augment.text.wordnet_data import WordNetUnavailable, load_wordnet

    try:
        return load_wordnet()
    except WordNetUnavailable as exc:
        pytest.skip(f"WordNet is not set up: {exc}")


LEGAL = [
    "The Tenant shall not pay more than $1,200.50 per month before 1 March 2024.",
    "Interest of 4.5% accrues monthly and the Borrower must repay USD 30,000 by 2025-06-30.",
    "No party may assign this agreement without the prior written consent of the other.",
    "The Supplier shall never deliver fewer than 250 units in any calendar quarter.",
    "Late fees of 2 percent apply if the invoice is not paid within thirty days of March 5th, "
    "2024.",
    "The Licensee cannot sublicense the software and must pay EUR 15,000 annually.",
    "Neither the Buyer nor the Seller shall disclose the price of £4.2 million before 31/12/2024.",
    "The deposit of 500 dollars is not refundable unless the Landlord breaches clause 7.2.",
]


def spans_of(text: str, prot: ProtectedSpans | None = None) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in (prot or ProtectedSpans()).find(text)]


def test_finds_each_kind():
    found = spans_of(LEGAL[0])
    assert ("modal", "shall") in found and ("negation", "not") in found
    assert ("amount", "$1,200.50") in found and ("date", "1 March 2024") in found
    found = spans_of(LEGAL[1])
    assert ("percentage", "4.5%") in found and ("amount", "USD 30,000") in found
    assert ("date", "2025-06-30") in found and ("modal", "must") in found
    assert ("number", "thirty") in spans_of(LEGAL[4])
    assert ("negation", "isn't") in spans_of("It isn't due.")
    assert ("amount", "£4.2 million") in spans_of(LEGAL[6])


def test_each_kind_can_be_switched_off():
    prot = ProtectedSpans(
        numbers=False, amounts=False, percentages=False, dates=False, negations=False, modals=False
    )
    assert prot.find(LEGAL[0]) == [] and ProtectedSpans.disabled().find(LEGAL[1]) == []
    only = ProtectedSpans(
        negations=["unless"],
        modals=False,
        numbers=False,
        amounts=False,
        dates=False,
        percentages=False,
    )
    assert spans_of(LEGAL[7], only) == [("negation", "unless")]


def test_overlapping_glossary_terms_merge_into_one_span():
    prot = ProtectedSpans(glossary=["credit card", "card fee", "fee"])
    text = "The credit card fee is waived."
    assert spans_of(text, prot) == [("glossary", "credit card fee")]
    masked = prot.mask(text)
    assert masked.text == "The QQPROT0QQ is waived."
    assert prot.unmask(masked.text, masked.spans) == text
    # touching spans stay separate; glossary matching ignores case unless told otherwise
    assert len(prot.find("Credit Card, fee")) == 2
    assert ProtectedSpans(glossary=["Tenant"], glossary_case_sensitive=True).find("tenant") == []


def test_user_regexes_are_protected():
    prot = ProtectedSpans(patterns=[r"\bINV-\d+\b"])
    # the digits inside are a number too: the outer span wins
    assert spans_of("Invoice INV-2231 is overdue.", prot) == [("pattern", "INV-2231")]
    # partial overlaps merge and name both kinds
    prot = ProtectedSpans(glossary=["payment of 5"])
    expected = [("glossary+amount", "payment of 5 dollars")]
    assert spans_of("A payment of 5 dollars.", prot) == expected


def test_unmask_refuses_lost_repeated_or_reordered_placeholders():
    prot = ProtectedSpans()
    m = prot.mask("You must not pay 5 dollars.")
    assert len(m.spans) == 3
    assert prot.unmask(m.text.replace("QQPROT1QQ", ""), m.spans) is None
    assert prot.unmask(m.text + " QQPROT0QQ", m.spans) is None
    swapped = (
        m.text.replace("QQPROT0QQ", "@").replace("QQPROT1QQ", "QQPROT0QQ").replace("@", "QQPROT1QQ")
    )
    assert prot.unmask(swapped, m.spans) is None


def test_check_names_what_broke():
    prot = ProtectedSpans()
    src = "The Tenant shall not pay $1,200 before 1 March 2024."
    assert prot.check(src, "The renter shall not pay $1,200 before 1 March 2024.") is None
    assert "'not'" in prot.check(src, "The Tenant shall pay $1,200 before 1 March 2024.")
    assert "missing" in prot.check(src, "The Tenant shall not pay $1,300 before 1 March 2024.")
    assert "adds" in prot.check("Pay the rent.", "Never pay the rent.")
    assert "order" in prot.check("must pay 5 not 6", "must pay 6 not 5")
    # case and whitespace do not count
    assert prot.check(src, "the tenant SHALL  NOT pay $1,200 before 1 march 2024") is None


# The operations that see protected spans as placeholders, each set to change a lot.
AGGRESSIVE = [
    SynonymReplacement(aug_p=0.5, aug_max=None),
    RandomSwap(aug_p=0.5, aug_max=None),
    RandomDeletion(aug_p=0.4, aug_max=None),
    RandomInsertion(aug_p=0.3),
    KeyboardNoise(aug_word_p=0.4),
    OcrNoise(aug_word_p=0.4),
    SpellingNoise(aug_p=0.4),
]


def test_protected_spans_survive_1000_seeded_runs_on_legal_sentences(wordnet):
    pipe = TextPipeline(AGGRESSIVE)
    prot = ProtectedSpans()
    expected = {t: [s.text for s in prot.find(t)] for t in LEGAL}
    changed = 0
    for seed in range(1000):
        src = LEGAL[seed % len(LEGAL)]
        out, ops = pipe.apply(src, seed)
        kept = [s.text for s in prot.find(out)]
        assert kept == expected[src], (seed, src, out, ops)
        # ... and in order, verbatim, each exactly once
        pos = 0
        for span in expected[src]:
            pos = out.index(span, pos) + len(span)
        assert pipe.check(src, out) is None
        changed += out != src
    assert changed >= 990  # the operations did work around the spans


def test_legal_preset_keeps_spans_and_glossary(wordnet):
    pipe = TextPipeline.from_preset("legal", glossary=["the Tenant", "written consent"])
    for seed in range(200):
        src = LEGAL[seed % len(LEGAL)]
        out, _ = pipe.apply(src, seed)
        assert pipe.check(src, out) is None
        if "the Tenant" in src.replace("The Tenant", "the Tenant"):
            assert re.search(r"the Tenant", out, re.IGNORECASE)
        if "written consent" in src:
            assert "written consent" in out


def test_empty_and_blank_texts_come_back_unchanged(wordnet):
    pipe = TextPipeline(AGGRESSIVE)
    for text in ["", "   ", "\n"]:
        out, ops = pipe.apply(text, 3)
        assert out == text
        assert [op.params for op in ops] == [{"skipped": "empty text"}] * len(AGGRESSIVE)


def test_non_text_payload_raises_type_error():
    with pytest.raises(TypeError, match="not str"):
        TextPipeline([RandomSwap()]).apply(42, 0)  # type: ignore[arg-type]


def test_non_english_and_symbols_are_kept(wordnet):
    pipe = TextPipeline([SynonymReplacement(aug_p=1.0, aug_max=None)])
    # (WordNet knows no language but English: a foreign word that is also an English word,
    # German "die", may still be replaced; the filter judges the result)
    for text in [
        "Der Mieter zahlt nicht.",
        "契約は2024年に終了します。",
        "🙂🙂 ### ---",
        "Le locataire ne paie pas 300 €.",
    ]:
        out, ops = pipe.apply(text, 1)
        assert out == text and ops[0].params == {"replaced": []}
    # mixed text: the English words change, the rest is kept byte for byte
    mixed = "Größe: the film was happy — 東京 ✓"
    out, ops = pipe.apply(mixed, 1)
    assert out != mixed and "Größe:" in out and "— 東京 ✓" in out


def test_very_long_document_is_processed_whole(wordnet):
    doc = " ".join(LEGAL * 120)  # ~1,500 sentences' worth of words
    pipe = TextPipeline.from_preset("eda")
    out, ops = pipe.apply(doc, 11)
    prot = pipe._spans()
    assert pipe.check(doc, out) is None
    assert len(prot.find(out)) == len(prot.find(doc))
    assert abs(len(out.split()) - len(doc.split())) <= 10  # aug_max caps the edits


def test_clinical_preset_keeps_negation_cues_doses_and_vitals(wordnet):
    pipe = TextPipeline.from_preset("clinical")
    notes = [
        "Patient denies chest pain and was negative for influenza; BP 120/80, HR 72 bpm.",
        "Start metformin 500 mg b.i.d. and recheck glucose on 2024-05-01; no evidence of DKA.",
        "Fracture ruled out on x-ray, lungs clear, mild swelling absent after 3 days.",
    ]
    keep = [
        "denies",
        "negative",
        "120/80",
        "72 bpm",
        "500 mg",
        "b.i.d.",
        "2024-05-01",
        "no evidence of",
        "ruled out",
        "absent",
        "3",
    ]
    changed = 0
    for seed in range(150):
        src = notes[seed % 3]
        out, _ = pipe.apply(src, seed)
        assert pipe.check(src, out) is None
        for term in keep:
            if term in src:
                assert term in out, (term, out)
        changed += out != src
    assert changed > 100


def test_support_preset_keeps_ids_emails_and_urls(wordnet):
    pipe = TextPipeline.from_preset("support")
    src = (
        "Order AB-12345 has not arrived, please email jane.doe@example.com or see "
        "https://shop.example.com/orders/12345 about ticket #4411 and the $19.99 refund."
    )
    for seed in range(150):
        out, _ = pipe.apply(src, seed)
        for term in [
            "AB-12345",
            "not",
            "jane.doe@example.com",
            "https://shop.example.com/orders/12345",
            "#4411",
            "$19.99",
        ]:
            assert term in out, (term, out)
