"""Persona logs that follow the persona: on the shipped example shop (profiles and purchases
share ids), a segment's spending, frequency and basket size carry over to its personas' logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augment.demo.persona import EXAMPLES
from augment.persona import InteractionModel, PersonaSynthesizer
from augment.persona.log_quality import compare_logs, log_statistics
from augment.persona.quality import evaluate_segment

PREMIUM, BASIC = "plan == 'premium'", "plan == 'basic'"


@pytest.fixture(scope="module")
def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(EXAMPLES / "customers.csv"), pd.read_csv(EXAMPLES / "purchases.csv")


@pytest.fixture(scope="module")
def synth(shop) -> PersonaSynthesizer:
    customers, purchases = shop
    return PersonaSynthesizer(
        rules=["total_spend ~ tenure_months * monthly_spend"],
        id_column="customer_id",
        identity_fields=(),
        random_state=0,
    ).fit(customers, purchases)


def _spend(log: pd.DataFrame, key: str) -> float:
    return float(log.groupby(key).amount.sum().mean())


def test_high_spending_segment_logs_spend_more_than_the_population(shop, synth):
    customers, purchases = shop
    population = _spend(purchases, "customer_id")
    real = purchases[purchases.customer_id.isin(customers.query(PREMIUM).customer_id)]
    assert _spend(real, "customer_id") > 1.5 * population  # the shop's premium members
    premium = synth.generate(PREMIUM, 300).interactions
    basic = synth.generate(BASIC, 300).interactions
    assert _spend(premium, "persona_id") > 1.4 * population
    assert _spend(basic, "persona_id") < 0.75 * population
    # within 15 % of the real segment on spending, frequency and basket size
    stats = compare_logs(premium, real, purchases, "customer_id", "date", "persona_id")
    stats = stats.set_index("statistic")
    for s in ("amount_per_customer", "events_per_customer", "items_per_event"):
        assert abs(stats.synthetic[s] / stats.real_segment[s] - 1) < 0.15, s
    assert stats.follows_segment.all()


def test_logs_are_reproducible_and_copy_no_event(shop, synth):
    _, purchases = shop
    a = synth.generate(PREMIUM, 100)
    b = synth.generate(PREMIUM, 100)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    log = a.interactions
    assert set(log.persona_id) <= set(a.personas.persona_id)
    assert log.date.between(purchases.date.min(), purchases.date.max()).all()
    assert log["items"].between(purchases["items"].min(), purchases["items"].max()).all()
    real_events = set(zip(purchases["items"], purchases.amount))
    copied = np.mean([e in real_events for e in zip(log["items"], log.amount)])
    assert copied < 0.05


def test_segment_templates_only_when_neighbours_are_off(shop):
    customers, purchases = shop
    plain = PersonaSynthesizer(id_column="customer_id", identity_fields=(), log_neighbours=0)
    log = plain.fit(customers, purchases).generate(PREMIUM, 200).interactions
    assert len(log) and _spend(log, "persona_id") > _spend(purchases, "customer_id")


def test_quality_report_compares_segment_and_population_logs(shop, synth):
    customers, purchases = shop
    report, result = evaluate_segment(synth, customers, PREMIUM, 200, interactions=purchases)
    logs = report.logs.set_index("statistic")
    assert set(logs.columns) == {"synthetic", "real_segment", "population", "follows_segment"}
    assert logs.loc["amount_per_customer", "population"] == pytest.approx(
        log_statistics(purchases, "customer_id", "date")["amount_per_customer"], rel=1e-3
    )
    figures = report.figures()
    assert figures["log_share_following_segment"] >= 5 / 6
    assert report.to_dict()["logs"][0]["statistic"] == "events_per_customer"
    assert result.interactions is not None


def test_neighbours_must_be_customers_of_the_log(shop):
    _, purchases = shop
    model = InteractionModel().fit(purchases)
    with pytest.raises(ValueError, match="one row of customer ids"):
        model.generate_matched(
            ["p1"], np.array([["nobody"]], dtype=object), np.random.default_rng(0)
        )
