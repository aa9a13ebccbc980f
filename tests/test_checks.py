"""The filter's checks on real models and real data: label preservation on banking77 (MiniLM
embeddings), sibling de-duplication, the LAMBADA selection, thresholds from data, and the
label check on table rows. Fluency with the packaged LM is in tests/test_fluency.py."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from fidelity import (
    FidelityFilter,
    LabelCheck,
    Reason,
    SiblingCheck,
    TabularEncoder,
    calibrate_checks,
)
from fidelity.checks import CrossFitJudge, ModelJudge
from fidelity.report import acceptance_by_label

#: Eight intents of banking77 that a person tells apart easily.
INTENTS = [
    "card_arrival",
    "exchange_rate",
    "lost_or_stolen_phone",
    "age_limit",
    "apple_pay_or_google_pay",
    "cash_withdrawal_charge",
    "passcode_forgotten",
    "top_up_failed",
]
SHOTS = 10


@pytest.fixture(scope="module")
def banking(shared_data):
    """10 labelled sources per intent, and 20 further real sentences per intent to pair with
    them: same-intent pairs (should pass) and other-intent pairs (should be label_shift)."""
    by: dict[str, list[str]] = defaultdict(list)
    with open(shared_data / "text" / "banking77" / "train.txt", encoding="utf-8") as fh:
        for line in fh:
            lab, text = line.rstrip("\n").split("\t", 1)
            by[lab].append(text.strip())
    rng = random.Random(0)
    sources, labels, pool = [], [], {}
    for it in INTENTS:
        xs = by[it][:]
        rng.shuffle(xs)
        sources += xs[:SHOTS]
        labels += [it] * SHOTS
        pool[it] = xs[SHOTS : SHOTS + 20]
    pairs: dict[str, tuple[list, list, list]] = {"same": ([], [], []), "other": ([], [], [])}
    for it in INTENTS:
        mine = [s for s, lab in zip(sources, labels) if lab == it]
        others = [o for o in INTENTS if o != it]
        for c in pool[it]:
            for kind, cand in (("same", c), ("other", rng.choice(pool[rng.choice(others)]))):
                pairs[kind][0].append(rng.choice(mine))
                pairs[kind][1].append(cand)
                pairs[kind][2].append(it)
    return sources, labels, pairs


@pytest.fixture(scope="module")
def label_filter(banking, text_encoder):
    sources, labels, _ = banking
    return FidelityFilter(text_encoder, checks=["label"]).fit(sources, labels)


def test_other_intent_sentences_are_label_shift_while_same_intent_ones_pass(banking, label_filter):
    _, _, pairs = banking
    same = label_filter.judge(*pairs["same"][:2], labels=pairs["same"][2])
    other = label_filter.judge(*pairs["other"][:2], labels=pairs["other"][2])
    same_pass = np.mean([v.accepted for v in same])
    other_shift = np.mean([v.reason is Reason.LABEL_SHIFT for v in other])
    # measured with seed 0: 158/160 same-intent pairs pass, 160/160 other-intent are label_shift
    assert same_pass >= 0.90, same_pass
    assert other_shift >= 0.90, other_shift
    v = next(v for v in other if v.reason is Reason.LABEL_SHIFT)
    label = pairs["other"][2][other.index(v)]
    assert v.predicted_label != label and v.predicted_label in INTENTS
    assert v.score("predicted_probability") > v.label_probability
    assert f"label {label!r} (p={v.label_probability:.3f}) -> {v.predicted_label!r}" in v.detail
    # the default band-only filter has no label scores; this one records them on every pair
    assert all(0 <= x.label_probability <= 1 for x in same + other)
    table = acceptance_by_label(same, pairs["same"][2])
    assert set(table.label) == set(INTENTS) and table.candidates.sum() == len(same)


def test_knn_judge_leaves_the_source_out(banking, text_encoder):
    sources, labels, pairs = banking
    knn = FidelityFilter(text_encoder, checks=[LabelCheck("knn", k=5)]).fit(sources, labels)
    other = knn.judge(*pairs["other"][:2], labels=pairs["other"][2])
    assert np.mean([v.reason is Reason.LABEL_SHIFT for v in other]) >= 0.9
    # a source relabelled to another intent: its own vote would say the planted label,
    # left out its neighbours say the true one
    planted = labels[:]
    planted[0] = INTENTS[1]
    knn2 = FidelityFilter(text_encoder, checks=[LabelCheck("knn", k=5)]).fit(sources, planted)
    (v,) = knn2.judge([sources[0]], [sources[0] + " Thanks"], labels=[INTENTS[1]])
    assert v.reason is Reason.LABEL_SHIFT and v.predicted_label == INTENTS[0]


def test_cross_fitting_rejects_variants_a_model_that_saw_the_source_would_accept(
    banking, text_encoder
):
    """Plant mislabelled sources (a card_arrival sentence labelled exchange_rate, ...): a model
    trained on them vouches for their close variants under the planted label; the cross-fitted
    model, which never saw the planted source, calls the variant what it is."""
    sources, labels, _ = banking
    planted = labels[:]
    victims = [i * SHOTS for i in range(len(INTENTS))]  # the first source of each intent
    for i in victims:
        planted[i] = INTENTS[(INTENTS.index(labels[i]) + 1) % len(INTENTS)]
    variants = [sources[i].rstrip("?.!") + ", please?" for i in victims]
    crossfit = FidelityFilter(text_encoder, checks=[LabelCheck()]).fit(sources, planted)
    vecs = text_encoder.encode(sources)
    saw_all = CrossFitJudge(C=10.0).fit(vecs, np.asarray(planted), None).full_
    seen = FidelityFilter(
        text_encoder, checks=[LabelCheck(judge=ModelJudge(saw_all, "embeddings"))]
    ).fit(sources, planted)
    src = [sources[i] for i in victims]
    lab = [planted[i] for i in victims]
    by_cross = crossfit.judge(src, variants, labels=lab)
    by_seen = seen.judge(src, variants, labels=lab)
    # measured: the cross-fitted model rejects 8 of 8 (p of the planted label 0.003-0.06); the
    # model that saw the planted sources gives it 0.25-0.37 and accepts 4 of 8
    assert sum(v.reason is Reason.LABEL_SHIFT for v in by_cross) >= 7, [v.detail for v in by_cross]
    assert sum(v.accepted for v in by_seen) >= 3, [v.detail for v in by_seen]
    assert all(s.label_probability > 3 * c.label_probability for s, c in zip(by_seen, by_cross))


def test_siblings_identical_or_near_identical_to_an_earlier_one_are_near_duplicates(
    text_encoder,
):
    src = "My card has not arrived yet, where is it?"
    cands = [
        "My card still hasn't arrived, where is it?",
        "my card  still hasn't arrived,   where is it?",  # same after whitespace and case
        "My card still hasn't arrived; where is it?",  # near-identical
        "Where is my card? It has not come yet.",
    ]
    flt = FidelityFilter(text_encoder, 0.5, 0.995, checks=["band", "siblings"])
    v = flt.judge([src] * 4 + ["Another source."], cands + [cands[0]], source_ids=[7] * 4 + [8])
    assert [x.reason for x in v] == [
        Reason.ACCEPTED,
        Reason.NEAR_DUPLICATE,
        Reason.NEAR_DUPLICATE,
        Reason.ACCEPTED,
        Reason.DRIFT,  # another source's candidate is not a sibling
    ]
    assert v[1].detail == "identical to sibling row 0 (after normalising whitespace and case)"
    assert v[2].detail.startswith("near-identical to sibling row 0 (similarity ")
    assert v[2].score("sibling_similarity") > 0.995 > v[3].score("sibling_similarity")
    # kept across calls when asked: a later top-up cannot emit the same variant again
    sib = SiblingCheck(remember=True)
    flt2 = FidelityFilter(text_encoder, 0.5, 0.995, checks=["band", sib])
    flt2.judge([src], [cands[0]], source_ids=[7])
    (again,) = flt2.judge([src], [cands[0].upper()], row_names=["c9"], source_ids=[7])
    assert again.reason is Reason.NEAR_DUPLICATE and "sibling row 0" in again.detail


def test_lambada_selection_keeps_the_top_n_per_label(banking, label_filter):
    _, _, pairs = banking
    srcs, cands, labs = (pairs["same"][k] + pairs["other"][k] for k in range(3))
    sel = label_filter.select_top(srcs, cands, 5, labels=labs)
    assert len(sel.verdicts) == len(cands)
    kept = [labs[i] for i in sel.kept]
    assert all(kept.count(it) == 5 for it in INTENTS)
    assert all(sel.verdicts[i].accepted for i in sel.kept)
    assert sum(v.accepted for v in sel.verdicts) == len(sel.kept)
    passed_over = [
        v for v in sel.verdicts if v.reason is Reason.LABEL_SHIFT and "top 5 kept" in v.detail
    ]
    assert passed_over and all(v.detail.startswith("rank ") for v in passed_over)
    for it in INTENTS:
        probs = [sel.verdicts[i].label_probability for i in sel.kept if labs[i] == it]
        worst_kept = min(probs)
        others = [
            v.label_probability
            for v, lab in zip(sel.verdicts, labs)
            if lab == it and "top 5 kept" in v.detail
        ]
        assert all(p <= worst_kept for p in others)


def test_label_threshold_is_derived_from_same_intent_pairs(banking, text_encoder):
    sources, labels, pairs = banking
    flt = FidelityFilter(text_encoder, checks=["label"]).fit(sources, labels)
    cal = calibrate_checks(flt, *pairs["same"], keep=0.9, bad=pairs["other"])
    c = cal["label"]
    assert c.param == "min_probability" and flt.check("label").min_probability == c.value
    d = c.to_dict()
    assert 0.0 < c.value < 1.0 and d["n"] == len(pairs["same"][0])
    assert d["good_accepted"] >= 0.9 and c.bad_rejected >= 0.9


def test_default_filter_is_the_band_and_checks_round_trip_by_name(text_encoder):
    flt = FidelityFilter(text_encoder, 0.6, 0.95)
    assert [c.name for c in flt.checks] == ["band"] and not flt.needs_fit
    full = FidelityFilter(
        text_encoder,
        0.6,
        0.95,
        checks=["band", {"name": "label", "judge": "knn", "k": 3}, "fluency", "siblings"],
    )
    d = json.loads(json.dumps(full.to_dict()))
    again = FidelityFilter.from_dict(d)
    assert [c.to_dict() for c in again.checks] == d["checks"]
    assert again.check("label").judge.k == 3 and again.needs_fit
    with pytest.raises(ValueError, match="unknown check 'nope'"):
        FidelityFilter(checks=["nope"])
    with pytest.raises(ValueError, match="row 1 is missing \\(None\\)"):
        FidelityFilter(text_encoder, checks=["label"]).fit(["a", None, "c"], [0, 1, 0])
    with pytest.raises(ValueError, match="at least 2 labels"):
        FidelityFilter(text_encoder, checks=["label"]).fit(["a", "b"], [0, 0])
    with pytest.raises(RuntimeError, match="not fitted"):
        FidelityFilter(text_encoder, checks=["label"]).judge(["a source"], ["a candidate"])


def test_label_check_on_table_rows_calls_a_changed_persona_a_non_member(shared_data):
    telco = pd.read_csv(shared_data / "tabular" / "telco_churn.csv").dropna()
    telco = telco.sample(1200, random_state=0).reset_index(drop=True)
    real, held = telco.iloc[:1000], telco.iloc[1000:]
    enc = TabularEncoder().fit(real)
    segment = "senior_citizen"
    check = LabelCheck().fit(real, real[segment].tolist(), encoder=enc)
    seniors = held[held[segment] == 1]
    members = check.judge_items(seniors, [1] * len(seniors), enc)
    moved = seniors.assign(**{segment: 0})  # the same customers, no longer seniors
    outsiders = check.judge_items(moved, [1] * len(moved), enc)
    assert np.mean([v.accepted for v in members]) >= 0.9
    assert np.mean([v.reason is Reason.LABEL_SHIFT for v in outsiders]) >= 0.9
    assert all(v.predicted_label == 0 for v in outsiders if not v.accepted)
