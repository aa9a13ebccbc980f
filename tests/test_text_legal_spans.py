"""Legal and financial protected spans (augment.text.legal_terms) and the `legal` preset: the
failures of issue 15 are rejected, and the preset keeps every legal span of the shipped
contract sentences."""

from __future__ import annotations

import pytest

from augment.io.text_files import example_path, read_labelled_text
from augment.text import ProtectedSpans, SynonymReplacement, TextPipeline

LEGAL = ProtectedSpans(legal=True)


def spans(text: str, prot: ProtectedSpans = LEGAL) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in prot.find(text)]


def texts(text: str, prot: ProtectedSpans = LEGAL) -> list[str]:
    return [t for _, t in spans(text, prot)]


@pytest.fixture(scope="module")
def contracts() -> list[str]:
    frame = read_labelled_text(example_path("text", "contracts.tsv"))
    return list(frame["text"])


@pytest.fixture(scope="module")
def wordnet():
    from augment.text.wordnet_data import WordNetUnavailable, load_wordnet

    try:
        return load_wordnet()
    except WordNetUnavailable as exc:
        pytest.skip(f"WordNet is not set up: {exc}")


def test_durations_and_quantities_keep_their_unit():
    assert "30 days" in texts("deliver within 30 days of receipt")
    assert "60 days' written notice" in texts("upon 60 days' written notice.")
    assert "12 months" in texts("for 12 months after signing")
    assert "thirty (30) business days" in texts("within thirty (30) business days")
    assert "250 units" in texts("ship 250 units per quarter")
    assert "2,000 square feet" in texts("office space of 2,000 square feet")
    kinds = dict((t, k) for k, t in spans("ship 250 units within 5 days"))
    assert "quantity" in kinds["250 units"] and "duration" in kinds["5 days"]


def test_defined_terms_without_a_glossary():
    found = texts("The Supplier shall deliver the Goods within 30 days of the Effective Date.")
    assert {"Supplier", "Goods", "Effective Date"} <= set(found)
    assert "Agreement" in texts("Either party may terminate this Agreement at any time.")
    assert "Premises" in texts("The Tenant may not sublet the Premises.")
    # the possessive is not part of the term: "the Landlord" still counts as it
    assert "Landlord" in texts("without the Landlord's prior written consent")
    assert "Statement of Work" in texts("as set out in the Statement of Work.")
    # sentence-initial ordinary words are not terms; leading function words are dropped
    assert texts("Payment is due monthly.") == []
    assert texts("Termination does not end the duty.") == ["not"]
    terms_only = ProtectedSpans(legal=["defined_term"])
    assert texts("Either Party may appeal.", terms_only) == ["Party", "may"]
    # with party names on, the quantifier joins: "Either Party" is not "Each Party"
    assert "Either Party" in texts("Either Party may appeal.")
    # a run of capitals opening a sentence is a term; so is a word capitalised elsewhere too
    assert "Payment Terms" in texts("Payment Terms are in the annex.")
    assert texts("Agreement is final. This Agreement binds.").count("Agreement") == 2
    assert "I" not in texts("I agree that the Seller may act.")


def test_definitions_references_parties_terms_of_art():
    found = spans('"Effective Date" means the date on which the last party signs.')
    assert ("definition", '"Effective Date"') in found and ("party", "party") in found
    assert "(the “Services”)" not in texts("the consulting work (the “Services”)")
    assert "“Services”" in texts("the consulting work (the “Services”)")
    refs = texts("as set out in Section 4.2 and clause 7(b), Article IV and Exhibit A.")
    assert {"Section 4.2", "clause 7(b)"} <= set(refs)
    # "Article IV and Exhibit A" is one run of capitalised words: protected as a whole
    assert all(any(r in t for t in refs) for r in ("Article IV", "Exhibit A"))
    assert "Acme Holdings Ltd." in texts("Acme Holdings Ltd. may transfer its rights.")
    assert "no later than" in texts("Payment is due no later than Friday.")
    assert "prior written consent" in texts("with the Landlord's prior written consent")


def test_the_issue_failures_are_constraint_violations_now():
    """The accepted candidates of issue 15: default spans (the old legal preset) let them
    through; the legal spans name what broke."""
    old = ProtectedSpans()
    cases = [
        (
            "The Supplier shall deliver the Goods within 30 days of the Effective Date.",
            "The Supplier shall deliver the Goods within 30 years of the Effectual Date.",
        ),
        (
            "Either party may terminate this Agreement upon 60 days written notice.",
            "Either party may terminate this Understanding upon 60 years written notice.",
        ),
        (
            "Either party may terminate this Agreement upon 60 days written notice.",
            "Either political party may terminate this Agreement upon 60 days written notice.",
        ),
        (
            "Either party may terminate this Agreement upon 60 days written notice.",
            "Either party may terminate this Agreement upon 60 days written discover.",
        ),
        (
            "Payment of $12,500 is due no later than March 1, 2027.",
            "Payment of $12,500 is due no afterward than March 1, 2027.",
        ),
    ]
    for source, candidate in cases:
        assert old.check(source, candidate) is None, candidate
        why = LEGAL.check(source, candidate)
        assert why is not None and "missing" in why, candidate


def test_unordered_check_allows_moves_but_not_losses():
    prot = ProtectedSpans(legal=True, ordered=False)
    src = "The Supplier shall deliver the Goods within 30 days."
    assert prot.check(src, "Within 30 days, the Supplier shall deliver the Goods.") is None
    # moved to the sentence start a term is still there, counted in the text itself
    assert prot.check(src, "Goods shall be delivered by the Supplier within 30 days.") is None
    assert "missing" in prot.check(src, "The Supplier shall deliver the Goods within a month.")
    assert "adds" in prot.check(src, "The Supplier shall deliver the Goods within 30 days, not 60.")
    ordered = ProtectedSpans(legal=True)
    assert "order" in ordered.check(src, "Within 30 days, the Supplier shall deliver the Goods.")


def test_settings_serialize_and_unknown_kinds_fail():
    prot = ProtectedSpans(legal=["duration", "reference"], ordered=False)
    again = ProtectedSpans.from_dict(prot.to_dict())
    assert again == prot and texts("Section 2 applies for 3 days.", again) == [
        "Section 2",
        "3 days",
    ]
    with pytest.raises(ValueError, match="unknown legal span kinds"):
        ProtectedSpans(legal=["durations"]).find("x")


def test_legal_preset_keeps_every_legal_span_of_the_contracts(contracts, wordnet):
    assert 20 <= len(contracts) <= 40
    before = TextPipeline([SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1)])
    after = TextPipeline.from_preset("legal")
    broke = {"before": 0, "after": 0}
    changed = 0
    for text in contracts:
        for name, pipe in (("before", before), ("after", after)):
            for cand in pipe.augment(text, n=3, seed=1):
                if LEGAL.check(text, cand):
                    broke[name] += 1
                elif name == "after" and cand != text:
                    changed += 1
    assert broke["after"] == 0
    assert broke["before"] >= len(contracts) // 2  # the failures the issue reported
    assert changed >= len(contracts)  # the preset still makes variants
