"""TabularEncoder and SegmentFilter on real telco_churn rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from fidelity.encoders.tabular import TabularEncoder
from fidelity.filter import FidelityFilter
from fidelity.segment_filter import SegmentFilter
from fidelity.verdict import Reason


@pytest.fixture(scope="module")
def telco(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "tabular" / "telco_churn.csv").dropna().reset_index(drop=True)


@pytest.fixture(scope="module")
def encoder(telco) -> TabularEncoder:
    return TabularEncoder().fit(telco)


def test_standard_encoding_is_normalised_and_weights_categories_like_one_sd(telco, encoder):
    vecs = encoder.encode(telco.head(100))
    assert vecs.shape[0] == 100 and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    a = telco.iloc[[0]].copy()
    b = a.copy()
    b["contract"] = "Two year" if a.contract.iloc[0] != "Two year" else "One year"
    d = np.linalg.norm(encoder.transform(a) - encoder.transform(b))
    assert d == pytest.approx(1.0, abs=1e-6)
    c = a.copy()
    c["tenure"] = a.tenure + telco.tenure.std(ddof=0)
    d = np.linalg.norm(encoder.transform(a) - encoder.transform(c))
    assert d == pytest.approx(1.0, abs=1e-5)


def test_bad_rows_are_named(telco, encoder):
    rows = telco.head(6).copy()
    rows["tenure"] = rows["tenure"].astype(object)
    rows.loc[1, "monthly_charges"] = math.nan
    rows.loc[2, "contract"] = "Three year"
    rows.loc[3, "tenure"] = "long"
    problems = encoder.problems(rows)
    assert problems[0] is None
    assert problems[1] == "has a missing value in column 'monthly_charges'"
    assert problems[2].startswith("has unknown category 'Three year' in column 'contract'")
    assert problems[3] == "has 'long' in numeric column 'tenure'"
    assert encoder.validate(rows.iloc[2].to_dict()).startswith("has unknown category 'Three year'")
    assert encoder.validate({"tenure": 3}) == "has no column 'churn'"
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularEncoder().encode(rows)


def test_config_round_trip_encodes_the_same(telco, encoder):
    loaded = TabularEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    np.testing.assert_array_equal(loaded.encode(telco.head(50)), encoder.encode(telco.head(50)))


def test_plugs_into_the_generic_fidelity_filter(telco, encoder):
    rows = telco.head(4).to_dict("records")
    changed = dict(rows[1], monthly_charges=rows[1]["monthly_charges"] + 5)
    broken = dict(rows[2], contract="Three year")
    flt = FidelityFilter(encoder, min_similarity=0.7, max_similarity=0.999)
    v = flt.judge([rows[0], rows[1], rows[2]], [rows[0], changed, broken])
    assert v[0].reason is Reason.NEAR_DUPLICATE
    assert v[1].reason is Reason.ACCEPTED
    assert v[2].reason is Reason.INVALID and "row 2: candidate has unknown category" in v[2].detail
    loaded = FidelityFilter.from_dict(json.loads(json.dumps(flt.to_dict())))
    again = loaded.judge([rows[0], rows[1], rows[2]], [rows[0], changed, broken])
    assert [x.reason for x in again] == [x.reason for x in v]
    assert [x.similarity for x in again[:2]] == pytest.approx([x.similarity for x in v[:2]])


def test_segment_filter_verdicts_and_config(telco, encoder):
    mask = (telco.senior_citizen == 1).to_numpy()
    flt = SegmentFilter(encoder).fit(telco, mask)
    assert 0 < flt.min_similarity_ < 1 and 0 < flt.privacy_distance_ < 1
    rows = telco[mask].head(3).copy().reset_index(drop=True)
    rows.loc[1, "monthly_charges"] += 10.0
    rows.loc[2, "contract"] = "Three year"
    v = flt.judge(rows)
    assert v[0].reason is Reason.NEAR_DUPLICATE and "to real row" in v[0].detail
    assert v[1].reason in (Reason.ACCEPTED, Reason.DRIFT) and v[1].similarity > 0.5
    assert v[2].reason is Reason.INVALID and v[2].detail.startswith("row 2 has unknown category")
    fixed = SegmentFilter(encoder, flt.min_similarity_, flt.privacy_distance_)
    loaded = SegmentFilter.from_dict(json.loads(json.dumps(fixed.to_dict()))).fit(telco, mask)
    assert [x.reason for x in loaded.judge(rows)] == [x.reason for x in v]


def test_segment_filter_refuses_tiny_segments_and_bad_real_rows(telco, encoder):
    one = np.zeros(len(telco), dtype=bool)
    one[5] = True
    with pytest.raises(ValueError, match="1 real row"):
        SegmentFilter(encoder).fit(telco, one)
    bad = telco.head(50).copy()
    bad.loc[7, "tenure"] = math.nan
    with pytest.raises(ValueError, match="row 7 has a missing value in column 'tenure'"):
        SegmentFilter(TabularEncoder()).fit(bad, np.ones(50, dtype=bool))


def test_text_variant_with_the_packaged_sentence_model(telco, text_encoder):
    small = telco.head(120)
    enc = TabularEncoder("text", text_encoder=text_encoder).fit(small)
    assert TabularEncoder.from_dict(enc.to_dict()).text_encoder.to_dict() == text_encoder.to_dict()
    assert enc.render(small.head(1))[0].startswith("churn: No; female: 1; senior citizen: 0;")
    mask = (small.senior_citizen == 1).to_numpy()
    flt = SegmentFilter(enc).fit(small, mask)
    v = flt.judge(small[mask].head(5))
    assert all(x.reason is Reason.NEAR_DUPLICATE for x in v)


def test_privacy_search_is_exact_below_the_bound_and_works_above_1(telco, encoder):
    mask = (telco.senior_citizen == 1).to_numpy()
    rows = telco[~mask].sample(300, random_state=1).copy()
    rows["monthly_charges"] += 0.5
    rows["senior_citizen"] = 1
    grouped = SegmentFilter(encoder, privacy_distance=0.5).fit(telco, mask)
    exact = grouped.distance_to_closest(rows)
    found = grouped.nearest(rows)["dcr"]
    below = exact < 0.5
    assert below.any()
    np.testing.assert_allclose(found[below], exact[below], atol=1e-6)
    assert (found[~below] >= 0.5).all()  # inf where no real row shares the categories
    wide = SegmentFilter(encoder, privacy_distance=1.5).fit(telco, mask)
    v = wide.judge(rows)
    near = np.array([x.reason is Reason.NEAR_DUPLICATE for x in v])
    np.testing.assert_array_equal(near, exact < 1.5)
    assert np.isfinite(wide.nearest(rows)["dcr"]).all()
