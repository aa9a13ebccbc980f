"""Personas on the real telco_churn table and CDNOW log: types, ranges, rules, privacy, segment
fidelity, seeds, interaction logs, identities and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from augment.candidate import Candidate
from augment.persona import IdentityFaker, PersonaSynthesizer, Segment, read_cdnow
from augment.persona.quality import evaluate_segment, quality_report
from fidelity.verdict import Reason

FORMULA = "total_charges ~ tenure * monthly_charges"
SENIORS = {"senior_citizen": 1}


@pytest.fixture(scope="module")
def telco(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "tabular" / "telco_churn.csv")


@pytest.fixture(scope="module")
def cdnow(shared_data) -> pd.DataFrame:
    return read_cdnow(str(shared_data / "tabular" / "cdnow_transactions.txt"))


def make(**kw) -> PersonaSynthesizer:
    params = {"rules": [FORMULA, "monthly_charges <= 110"], "missing": "drop", "random_state": 0}
    params.update(kw)
    return PersonaSynthesizer(**params)


@pytest.fixture(scope="module")
def fitted(telco, cdnow) -> PersonaSynthesizer:
    return make().fit(telco, cdnow)


@pytest.fixture(scope="module")
def seniors(fitted):
    return fitted.generate(SENIORS, 3000)


def real_seniors(telco: pd.DataFrame) -> pd.DataFrame:
    return telco.dropna()[telco.dropna().senior_citizen == 1]


# ---------------------------------------------------------------- types, ranges, rules
def test_personas_keep_types_ranges_and_categories(telco, fitted, seniors):
    p = seniors.personas
    assert len(p) == 3000 and seniors.shortfall == 0
    seg = real_seniors(telco)
    for col in fitted.columns_:
        assert p[col].dtype == telco[col].dtype, col
        if fitted.schema_[col].kind == "categorical":
            assert set(p[col]) <= set(telco[col].dropna()), col
        else:
            assert p[col].min() >= telco[col].min() and p[col].max() <= telco[col].max(), col
    assert (p.senior_citizen == 1).all()
    assert (p.tenure == np.round(p.tenure)).all()
    assert p.tenure.between(seg.tenure.min(), seg.tenure.max()).all()
    # money keeps its two decimals
    assert np.allclose(p.monthly_charges * 100, np.round(p.monthly_charges * 100))


def test_personas_keep_stated_rules_and_category_links(telco, seniors):
    p = seniors.personas
    assert (p.monthly_charges <= 110).all()
    real = telco.dropna()
    real = real[real.tenure > 0]
    factor_real = real.total_charges / (real.tenure * real.monthly_charges)
    factor = p.total_charges / (p.tenure * p.monthly_charges)
    assert factor.min() >= factor_real.min() - 0.01 and factor.max() <= factor_real.max() + 0.01
    # telco's logical links: no phone line <=> "No phone service"; no internet <=> 6 columns
    assert ((p.phone_service == 0) == (p.multiple_lines == "No phone service")).all()
    for col in ("online_security", "tech_support", "streaming_tv"):
        assert ((p.internet_service == "No") == (p[col] == "No internet service")).all()
    # and no pair of categories that no real customer has (no-phone customers all have DSL)
    assert not ((p.phone_service == 0) & (p.internet_service != "DSL")).any()


def test_segment_with_several_values_and_an_empty_request(fitted):
    seg = {"contract": ["One year", "Two year"], "senior_citizen": 1}
    p = fitted.generate(seg, 5, interactions=False).personas
    assert len(p) == 5 and p.contract.isin(["One year", "Two year"]).all()
    # generated rows need not contain every listed value; the real table must
    one_value = fitted.real_[fitted.real_.contract == "One year"].head(3)
    assert (
        Segment.of(seg).mask(one_value, strict=False).sum() == (one_value.senior_citizen == 1).sum()
    )
    with pytest.raises(ValueError, match="never occur in column 'contract'"):
        Segment.of(seg).mask(one_value)
    empty = fitted.generate(seg, 0)
    assert len(empty.personas) == 0 and len(empty.verdicts) == 0
    assert list(empty.personas.columns[:3]) == ["persona_id", "name", "email"]


def test_segment_given_as_a_rule(fitted):
    res = fitted.generate("tenure < 6 and contract == 'Month-to-month'", 300, interactions=False)
    p = res.personas
    assert len(p) == 300
    assert (p.tenure < 6).all() and (p.contract == "Month-to-month").all()


# ---------------------------------------------------------------- privacy and the band
def test_no_persona_within_the_privacy_bound_of_a_real_row(fitted, seniors):
    flt = fitted.segment_filter(SENIORS)
    enc = fitted.encoder_
    real = enc.transform(fitted.real_).astype(np.float64)
    mine = enc.transform(seniors.personas[fitted.columns_]).astype(np.float64)
    # independent brute force over every real customer
    d2 = (mine**2).sum(1)[:, None] + (real**2).sum(1)[None, :] - 2 * mine @ real.T
    dcr = np.sqrt(np.clip(d2.min(axis=1), 0, None))
    assert flt.privacy_distance_ > 0.001
    assert dcr.min() >= flt.privacy_distance_
    # and the filter's own measure agrees
    assert np.allclose(flt.distance_to_closest(seniors.personas[fitted.columns_]), dcr, atol=1e-4)


def test_real_customers_are_rejected_as_near_duplicates(fitted):
    flt = fitted.segment_filter(SENIORS)
    rows = fitted.real_[fitted.real_.senior_citizen == 1].head(50)
    verdicts = flt.judge(rows)
    assert all(v.reason is Reason.NEAR_DUPLICATE for v in verdicts)
    assert "privacy bound" in verdicts[0].detail


def test_rows_of_another_segment_drift(fitted):
    seg = "tenure < 6 and contract == 'Month-to-month'"
    flt = fitted.segment_filter(seg)
    other = fitted.real_.query("tenure > 60 and contract == 'Two year'").head(200).copy()
    other["monthly_charges"] += 2.0  # not copies of real customers
    reasons = pd.Series([v.reason.value for v in flt.judge(other)])
    assert (reasons == "drift").mean() > 0.5
    inside = fitted.generate(seg, 200, interactions=False)
    assert (inside.personas.similarity >= flt.min_similarity_).all()


def test_every_candidate_is_accounted_for(seniors):
    assert len(seniors.verdicts) == len(seniors.personas) + len(seniors.rejected)
    assert (seniors.rejected.reason != "accepted").all()
    s = seniors.summary()
    assert s["count"].sum() == len(seniors.verdicts)
    drift = seniors.rejected[seniors.rejected.reason == "drift"]
    assert (drift.detail.str.contains("closest segment row")).all()
    cands = seniors.candidates
    assert len(cands) == len(seniors.verdicts) and isinstance(cands[0], Candidate)
    assert sum(c.accepted for c in cands) == 3000
    assert cands[0].seed == seniors.round_seeds[0] and cands[0].operations[0].name == "copula"


# ---------------------------------------------------------------- fidelity to the segment
def test_segment_marginals_match_better_than_the_whole_table(telco, fitted, seniors):
    seg = fitted.real_[fitted.real_.senior_citizen == 1]
    rep = quality_report(
        seg,
        seniors.personas[fitted.columns_],
        fitted.real_,
        fitted.schema_.of_kind("categorical"),
        "seniors",
    )
    cols = rep.columns[rep.columns.column != "senior_citizen"]
    assert cols.synthetic.mean() > cols.population.mean() + 0.1
    assert (cols.synthetic >= cols.population - 0.02).mean() >= 0.9
    assert rep.figures()["pair_trend_synthetic"] > rep.figures()["pair_trend_population"]


def test_quality_report_against_a_holdout(telco, tmp_path):
    rep, res = evaluate_segment(make(), telco, SENIORS, 1000)
    f = rep.figures()
    assert len(rep.dcr_holdout) == round(0.2 * len(real_seniors(telco)))
    assert f["min_dcr_synthetic"] >= rep.privacy_distance
    # personas are not closer to training customers than unseen real customers are
    assert f["share_closer_than_holdout_q05"] < 0.10
    png = rep.plot(tmp_path / "quality.png")
    assert png.stat().st_size > 10_000
    json.dumps(rep.to_dict())


# ---------------------------------------------------------------- seeds and config
def test_same_seed_same_personas_other_seed_others(telco, cdnow, seniors):
    again = make().fit(telco, cdnow).generate(SENIORS, 3000)
    pd.testing.assert_frame_equal(again.personas, seniors.personas)
    pd.testing.assert_frame_equal(again.interactions, seniors.interactions)
    other = make(random_state=1).fit(telco).generate(SENIORS, 200, interactions=False)
    assert not other.personas[["tenure", "monthly_charges"]].equals(
        seniors.personas[["tenure", "monthly_charges"]].head(200)
    )


def test_same_seed_same_personas_in_another_process(shared_data, seniors):
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import hashlib, sys, pandas as pd\n"
        "from augment.persona import PersonaSynthesizer\n"
        f"t = pd.read_csv({str(shared_data / 'tabular' / 'telco_churn.csv')!r})\n"
        f"s = PersonaSynthesizer(rules={[FORMULA, 'monthly_charges <= 110']!r}, missing='drop')\n"
        "p = s.fit(t).generate({'senior_citizen': 1}, 3000, interactions=False).personas\n"
        "sys.stdout.write(hashlib.sha256(p.to_csv(index=False).encode()).hexdigest())\n"
    )
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    here = hashlib.sha256(seniors.personas.to_csv(index=False).encode()).hexdigest()
    assert proc.stdout.strip() == here


def test_config_round_trips_through_json(telco):
    synth = make()
    loaded = PersonaSynthesizer.from_dict(json.loads(json.dumps(synth.to_dict())))
    assert loaded.to_dict() == synth.to_dict()
    res = loaded.fit(telco).generate(SENIORS, 500, interactions=False)
    ref = synth.fit(telco).generate(SENIORS, 500, interactions=False)
    pd.testing.assert_frame_equal(res.personas, ref.personas)


# ---------------------------------------------------------------- SMOTE-NC
def test_smote_personas_keep_rules_and_privacy(telco):
    synth = make(method="smote").fit(telco)
    res = synth.generate(SENIORS, 400, interactions=False)
    p = res.personas
    assert len(p) == 400 and (p.senior_citizen == 1).all()
    assert (p.tenure == np.round(p.tenure)).all() and (p.monthly_charges <= 110).all()
    flt = synth.segment_filter(SENIORS)
    assert flt.distance_to_closest(p[synth.columns_]).min() >= flt.privacy_distance_
    # interpolation lands near real customers more often than the copula does
    assert (res.rejected.reason == "near_duplicate").sum() > 0
    again = make(method="smote").fit(telco).generate(SENIORS, 400, interactions=False)
    pd.testing.assert_frame_equal(again.personas, p)


# ---------------------------------------------------------------- interactions and identity
def test_interaction_logs_are_plausible(cdnow, seniors):
    log = seniors.interactions
    assert set(log.persona_id) <= set(seniors.personas.persona_id)
    assert log.date.between(cdnow.date.min(), cdnow.date.max()).all()
    assert (log.number_of_cds >= 1).all() and (log.number_of_cds == log.number_of_cds.round()).all()
    assert (log.dollar_value >= 0).all()
    per_real = cdnow.groupby("customer_id").size().mean()
    per_persona = log.groupby("persona_id").size().mean()
    assert abs(per_persona - per_real) / per_real < 0.25
    # amounts follow quantities as in the real log
    r_real = np.corrcoef(cdnow.number_of_cds, cdnow.dollar_value)[0, 1]
    r_fake = np.corrcoef(log.number_of_cds, log.dollar_value)[0, 1]
    assert abs(r_real - r_fake) < 0.15


def test_identities_come_from_faker_never_from_real_rows(telco, seniors):
    p = seniors.personas
    assert p.name.str.match(r"^\S+ \S+").all() and p.email.str.contains("@").all()
    assert p.email.is_unique and p.persona_id.is_unique
    # a real table whose names are exactly the ones Faker would draw first: all must be redrawn
    probe = IdentityFaker(("name", "email")).generate(len(telco), seed=123)
    real = telco.assign(name=probe.name.to_numpy(), email=probe.email.to_numpy())
    synth = make(identity_columns=["name", "email"]).fit(real)
    synth_key = synth.generate(SENIORS, 500, interactions=False).personas
    assert "name" in synth_key and not synth_key.name.isin(set(real.name)).any()
    assert not synth_key.email.isin(set(real.email)).any()
    assert "name" not in synth.columns_  # identity columns are never modelled


# ---------------------------------------------------------------- bad input
def test_unknown_segment_value_or_column(fitted):
    with pytest.raises(ValueError, match=r"\[2\] never occur in column 'senior_citizen'"):
        fitted.generate({"senior_citizen": 2}, 10)
    with pytest.raises(KeyError, match="segment column 'age'"):
        fitted.generate({"age": 70}, 10)
    with pytest.raises(ValueError, match="segment rule 'nonsense ==' cannot be evaluated"):
        fitted.generate("nonsense ==", 10)


def test_segment_with_one_or_no_row(fitted):
    one = fitted.real_.sort_values("monthly_charges").monthly_charges.iloc[-1]
    with pytest.raises(ValueError, match="has a single row"):
        fitted.generate(f"monthly_charges >= {one}", 10)
    with pytest.raises(ValueError, match="matches no row"):
        fitted.generate("tenure > 1000", 10)


def test_missing_values_are_refused_by_default(telco):
    with pytest.raises(ValueError, match=r"'total_charges' in 11 row\(s\) \(488, 753"):
        PersonaSynthesizer().fit(telco)
    synth = PersonaSynthesizer(missing="drop").fit(telco)
    assert synth.dropped_rows_[:2] == [488, 753] and len(synth.dropped_rows_) == 11


def test_mixed_types_in_a_column(telco):
    bad = telco.dropna().head(300).copy()
    bad["tenure"] = bad["tenure"].astype(object)
    bad.loc[bad.index[7], "tenure"] = "seven"
    with pytest.raises(TypeError, match=r"column 'tenure' mixes types.*'seven'"):
        PersonaSynthesizer().fit(bad)


def test_number_column_with_a_typo_read_from_csv(telco, tmp_path):
    bad = telco.dropna().head(300).copy()
    bad["tenure"] = bad["tenure"].astype(str)
    bad.loc[bad.index[12], "tenure"] = "12 months"
    bad.to_csv(tmp_path / "typo.csv", index=False)
    table = pd.read_csv(tmp_path / "typo.csv")  # the whole column comes back as text
    with pytest.raises(TypeError, match=r"column 'tenure' mixes types.*row 12: '12 months'"):
        PersonaSynthesizer().fit(table)


def test_rules_that_no_row_satisfies_or_that_cannot_apply(telco):
    with pytest.raises(ValueError, match="rule 'tenure > 100' holds for no row"):
        make(rules=["tenure > 100"]).fit(telco)
    with pytest.raises(ValueError, match="cannot be evaluated"):
        make(rules=["total_charges ~ tenure * price"]).fit(telco)
    with pytest.raises(ValueError, match="is categorical"):
        make(rules=["contract ~ tenure * 2"]).fit(telco)


# ---------------------------------------------------------------- docs
def test_docs_example_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "personas.md"
    code = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in code:
        exec(compile(block, str(page), "exec"), namespace)
    assert (tmp_path / "persona_quality.png").stat().st_size > 10_000


def test_demo_section_on_the_shipped_example(tmp_path, capsys):
    from augment.demo import persona

    persona.run(None, tmp_path)
    out = capsys.readouterr().out
    assert "segment 'age >= 65' has 22 of them" in out and "accepted" in out
    assert "column_shape_synthetic" in out
    assert (tmp_path / "persona_quality.png").stat().st_size > 10_000
    personas = pd.read_csv(tmp_path / "persona_personas.csv")
    assert len(personas) == 200 and (personas.age >= 65).all()
    assert (tmp_path / "persona_interactions.csv").is_file()
