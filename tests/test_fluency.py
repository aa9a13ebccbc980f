"""The fluency check on the packaged SmolLM2-135M-Instruct (through fidelity.lm): per-token
log-likelihood of a candidate against its source, batched and cached, off with a note when no
LM can be loaded."""

from __future__ import annotations

import pytest

from fidelity import FidelityFilter, FluencyCheck, Reason, calibrate_checks
from tests.conftest import REPO

CONTRACT = "The Supplier shall deliver the Goods within 30 days of the Effective Date."
TICKET = "I was charged twice for my subscription this month."


@pytest.fixture(scope="module")
def lm():
    from fidelity.lm import LanguageModelUnavailable, load_causal_lm

    try:
        return load_causal_lm()
    except LanguageModelUnavailable as exc:
        pytest.skip(f"no causal LM on this machine: {exc}")


@pytest.fixture(scope="module")
def fluency(lm):
    model, tok = lm
    return FluencyCheck(model=model, tokenizer=tok)


def test_a_changed_unit_and_a_dropped_verb_score_lower_than_a_faithful_paraphrase(fluency):
    deltas = fluency.deltas(
        [CONTRACT, CONTRACT, TICKET, TICKET],
        [
            "The Supplier must deliver the Goods within 30 days of the Effective Date.",
            "The Supplier shall deliver the Goods within 30 years of the Effective Date.",
            "I was billed twice for my subscription this month.",
            "I was twice for my subscription this month.",  # the main verb is gone
        ],
    )
    faithful_unit, changed_unit, faithful_verb, dropped_verb = deltas
    # measured: -0.08 vs -0.32 nats/token, and +0.43 vs -0.54
    assert changed_unit < faithful_unit - 0.1, deltas
    assert dropped_verb < faithful_verb - 0.5, deltas


def test_word_salad_is_disfluent_and_the_verdict_keeps_the_scores(fluency, text_encoder):
    fluency.min_delta = -1.5
    flt = FidelityFilter(text_encoder, 0.3, 0.99, checks=["band", fluency])
    good, salad = flt.judge(
        [TICKET, TICKET],
        [
            "This month I was charged two times for my subscription.",
            "twice subscription month I charged for this my was.",
        ],
    )
    assert good.accepted and good.fluency_delta > -1.5
    assert salad.reason is Reason.DISFLUENT, salad
    assert salad.fluency_delta < -1.5 and "delta" in salad.detail
    assert {"similarity", "fluency_delta", "candidate_logprob", "source_logprob"} <= set(
        salad.scores
    )


def test_scores_are_cached_per_text(lm, fluency):
    model, _ = lm
    scorer = fluency.scorer
    calls: list[int] = []
    hook = model.register_forward_hook(lambda m, i, o: calls.append(1))
    try:
        first = scorer.score([TICKET, CONTRACT, TICKET])
        n = len(calls)
        again = scorer.score([CONTRACT, TICKET])
    finally:
        hook.remove()
    # two distinct texts: at most one batch (none if an earlier test scored them); rerun: cache
    assert n <= 1 and len(calls) == n
    assert again[0] == first[1] and again[1] == first[0] == first[2]


def test_threshold_is_derived_from_the_shipped_paraphrases(fluency, text_encoder):
    rows = (REPO / "augment" / "examples" / "text" / "paraphrases.tsv").read_text().splitlines()
    pairs = [r.split("\t") for r in rows[:8]]
    flt = FidelityFilter(text_encoder, checks=[fluency])
    cal = calibrate_checks(flt, [a for a, _ in pairs], [b for _, b in pairs], keep=0.875)
    c = cal["fluency"]
    assert c.param == "min_delta" and fluency.min_delta == c.value < 0
    assert c.to_dict()["good_accepted"] >= 0.875


def test_without_a_language_model_the_check_is_off_and_says_so(text_encoder, caplog):
    off = FluencyCheck(lm="/nonexistent/model-folder")
    flt = FidelityFilter(text_encoder, 0.3, 0.99, checks=["band", off])
    with caplog.at_level("WARNING"):
        (v,) = flt.judge([TICKET], ["I was billed twice for my subscription this month."])
    assert v.accepted and v.detail.startswith("fluency not checked: ")
    assert "fluency check is off" in caplog.text
