"""The label check and the per-class top-up through every way into the core (Augmenter,
AugmentedDataset, augment_batch, augment run), on banking77 with the real MiniLM."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pandas as pd
import pytest

from augment import Augmenter, Source
from augment.candidate import Operation
from augment.hf import augment_batch
from augment.run.config import ConfigError, RunConfig
from augment.run.job import Job, load_tables
from augment.text import TextPipeline
from augment.torch import AugmentedDataset
from fidelity import FidelityFilter

#: Two confusable intents and a distinct one.
INTENTS = ("card_arrival", "card_delivery_estimate", "exchange_rate")


@pytest.fixture(scope="module")
def banking(shared_data):
    """intent -> its first training sentences, and -> held-out ones (from the test split)."""
    out = {}
    for split in ("train", "test"):
        rows: dict[str, list[str]] = defaultdict(list)
        with open(shared_data / "text" / "banking77" / f"{split}.txt", encoding="utf-8") as fh:
            for line in fh:
                lab, text = line.rstrip("\n").split("\t", 1)
                if lab in INTENTS:
                    rows[lab].append(text.strip())
        out[split] = rows
    return out


def _sources(banking, per_intent: int) -> list[Source]:
    return [
        Source(f"{lab}-{i}", text, lab)
        for lab in INTENTS
        for i, text in enumerate(banking["train"][lab][:per_intent])
    ]


class Lookup:
    """A generator that answers each source with a given sentence (standing for
    label-conditioned generation: here real sentences, of the source's intent or another's)."""

    modality = "text"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def apply(self, payload: str, seed: int) -> tuple[str, list[Operation]]:
        return self.answers[payload], [Operation("lookup", {})]


def test_the_label_check_rejects_another_intents_sentence_through_the_augmenter(
    banking, text_encoder
):
    sources = _sources(banking, 8)
    held_out = {lab: banking["test"][lab] for lab in INTENTS}
    # the first 4 sources of each intent get a held-out sentence of the NEXT intent, the others
    # one of their own intent
    answers, drifted = {}, {}
    for s in sources:
        k = int(s.id.rsplit("-", 1)[1])
        other = INTENTS[(INTENTS.index(s.label) + 1) % len(INTENTS)]
        target = other if k < 4 else s.label
        answers[s.payload] = held_out[target][k]
        drifted[s.id] = target != s.label
    flt = FidelityFilter(text_encoder, checks=["label", "siblings"])
    assert flt.needs_fit
    result = Augmenter(Lookup(answers), flt, n_variants=1).run(sources)
    assert not flt.needs_fit  # fitted once, on the run's sources
    off = [c for c in result.candidates if drifted[c.source_id]]
    same = [c for c in result.candidates if not drifted[c.source_id]]
    shifted = [c for c in off if c.verdict.reason.value == "label_shift"]
    assert len(shifted) >= 10, [(c.source_id, c.verdict.detail) for c in off]  # of 12
    assert all(c.verdict.predicted_label != c.label for c in shifted)
    assert all(f"label '{c.label}'" in c.verdict.detail for c in shifted)
    assert sum(c.accepted for c in same) >= 9  # of 12 real same-intent sentences
    table = result.acceptance_by_label().set_index("label")
    assert table.loc[list(INTENTS), "planned"].tolist() == [8, 8, 8]
    assert int(table["label_shift"].sum()) == sum(
        c.verdict.reason.value == "label_shift" for c in result.candidates
    )
    assert (table["accepted"] + table["label_shift"] + table.get("near_duplicate", 0)).eq(8).all()


def test_a_source_without_a_label_is_an_error_naming_it(banking, text_encoder):
    sources = [*_sources(banking, 3), Source("x", "Where is my card?")]
    flt = FidelityFilter(text_encoder, checks=["label"])
    with pytest.raises(ValueError, match=r"source 'x' has no label.*flt\.fit"):
        Augmenter(TextPipeline.from_preset("eda"), flt, n_variants=1).run(sources)


def test_top_up_reaches_the_planned_count_per_class_or_reports_the_shortfall(banking, text_encoder):
    """EDA at a high alpha with a strict band and a label check: the confusable card intents
    lose more candidates than exchange_rate. One draw per planned variant leaves classes short
    (reported); with more attempts each class gets its planned count, or says how many it
    lacks after using every attempt."""
    sources = _sources(banking, 5)
    pipe = TextPipeline.from_preset("eda", alpha=0.3)

    def run(attempts: int):
        flt = FidelityFilter(
            text_encoder,
            0.8,
            0.98,
            checks=["band", {"name": "label", "min_probability": 0.5}, "siblings"],
        )
        return Augmenter(pipe, flt, n_variants=1, top_up=True, max_attempts=attempts).run(sources)

    once = run(1)  # the attempt limit allows no extra draw: the shortfall is reported
    first = once.acceptance_by_label().set_index("label")
    assert (first["planned"] == 5).all() and (first["candidates"] == 5).all()
    assert first["shortfall"].sum() > 0 and first["accept_rate"].min() < 0.6
    summary = once.summary().set_index("reason")
    assert summary.loc["shortfall", "count"] == first["shortfall"].sum()

    topped = run(6)
    table = topped.acceptance_by_label().set_index("label")
    assert (table["accepted"] <= table["planned"]).all()  # never more than the plan
    for lab, row in table.iterrows():
        if row["shortfall"]:  # short only when every attempt was used
            assert row["candidates"] + row["errors"] == 6 * 5, (lab, row.to_dict())
    filled = [
        lab for lab in INTENTS if first.loc[lab, "shortfall"] and not table.loc[lab, "shortfall"]
    ]
    assert filled, table  # top-up filled at least one class the filter had thinned
    # the first round is the same draw; top-up adds new variants (new seeds), nothing is lost
    assert [c.payload for c in topped.candidates[:15]] == [c.payload for c in once.candidates]
    ids = [c.candidate_id for c in topped.candidates]
    assert len(set(ids)) == len(ids)
    per_source = Counter((c.source_id, c.payload.casefold()) for c in topped.accepted)
    assert max(per_source.values()) == 1  # no accepted variant emitted twice
    assert table["candidates"].sum() == len(topped.candidates)
    # the same accounting per slice of the sources
    half = {s.id: "first rows" if s.id.endswith(("-0", "-1")) else "other rows" for s in sources}
    by_slice = topped.acceptance_by(half).set_index("slice")
    assert by_slice["planned"].to_dict() == {"first rows": 6, "other rows": 9}
    assert by_slice["accepted"].sum() == table["accepted"].sum() == len(topped.accepted)


def test_augmented_dataset_and_augment_batch_judge_with_the_label(banking, text_encoder):
    sources = _sources(banking, 4)
    frame = pd.DataFrame(
        {"text": [s.payload for s in sources], "label": [s.label for s in sources]}
    )
    other = banking["test"]["exchange_rate"][0]
    pipe = Lookup({s.payload: other for s in sources})
    flt = FidelityFilter(text_encoder, checks=["label"])
    ds = AugmentedDataset(frame, pipe, flt, n_variants=1, max_attempts=1, return_info=True)
    assert not flt.needs_fit  # fitted at construction on the frame's rows
    reasons = [ds[i]["reason"] for i in range(ds.n_originals, len(ds))]
    # another intent's sentence is rejected for the card rows, kept for exchange_rate's
    assert reasons[:8] == ["label_shift"] * 8 and reasons[8:].count("label_shift") <= 1

    unfitted = FidelityFilter(text_encoder, checks=["label"])
    with pytest.raises(ValueError, match="fit_on="):
        augment_batch(pipe, unfitted)
    fn = augment_batch(pipe, unfitted, n_variants=1, keep_rejected=True, fit_on=frame)
    out = fn({"text": frame.text.tolist(), "label": frame.label.tolist()}, list(range(12)))
    variants = [r for r, aug in zip(out["reason"], out["is_augmented"]) if aug]
    assert variants == reasons


def test_config_checks_by_name_and_unknown_names(tmp_path):
    base = {"input": {"path": "in.csv"}, "pipeline": {"preset": "eda"}, "output": "o"}
    cfg = RunConfig.from_dict(
        {**base, "filter": {"checks": ["band", "label"], "label": {"min_probability": 0.3}}}
    )
    assert cfg.filter.check_specs() == ["band", {"min_probability": 0.3, "name": "label"}]
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({**base, "filter": {"checks": ["band", "labl"]}})
    assert "unknown check 'labl'; known: band, fluency, label, siblings" in str(err.value)
    with pytest.raises(ConfigError, match="'label' is not in filter.checks"):
        RunConfig.from_dict({**base, "filter": {"label": {"min_probability": 0.3}}})
    with pytest.raises(ConfigError, match="check 'label'"):
        RunConfig.from_dict({**base, "filter": {"checks": [{"name": "label", "jugde": "knn"}]}})


def test_augment_run_fits_the_label_check_on_the_input_and_reports_per_label(tmp_path, banking):
    """Two rows of exchange_rate are planted under the label card_arrival: the cross-fitted
    check (fitted on the input rows) gives their close variants label_shift."""
    rows = [
        (t, lab) for lab in ("card_arrival", "exchange_rate") for t in banking["train"][lab][:9]
    ]
    planted = banking["train"]["exchange_rate"][9:11]
    rows += [(t, "card_arrival") for t in planted]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "in.csv", index=False)
    raw = {
        "input": {"path": "in.csv"},
        "pipeline": {"preset": "eda", "options": {"alpha": 0.1}},
        "targeting": {"n_variants": 1},
        "filter": {"checks": ["band", "label", "siblings"], "min_similarity": 0.5},
        "output": "out",
        "shard_rows": 10,
    }
    Job(RunConfig.from_dict(raw, base=tmp_path), show_progress=False).run()
    tables = load_tables(tmp_path / "out")
    both = pd.concat([tables["accepted"], tables["rejected"]], ignore_index=True)
    assert len(both) == len(rows)  # every row accounted for
    of_planted = both[both.source_id.isin(["18", "19"])]
    assert of_planted.reason.tolist() == ["label_shift"] * 2, of_planted.detail.tolist()
    assert "-> 'exchange_rate'" in of_planted.detail.iloc[0]
    assert (both.reason == "accepted").sum() >= 12
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    labels = manifest["summary"]["labels"]
    assert (
        labels["card_arrival"][:2] == [11, 11]
        and sum(v[2] for v in labels.values()) == (both.reason == "accepted").sum()
    )
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Acceptance per label" in report and "### label_shift" in report

    # with top-up, the shard's augmenter draws more for the labels the filter left short
    topped = {**raw, "filter": {**raw["filter"], "top_up": True, "max_attempts": 3}, "output": "t"}
    Job(RunConfig.from_dict(topped, base=tmp_path), show_progress=False).run()
    done = json.loads((tmp_path / "t" / "manifest.json").read_text())
    for shard in done["shards"].values():  # top-up works within a shard
        for label, (planned, candidates, accepted) in shard["summary"]["labels"].items():
            assert accepted == planned or candidates == 3 * planned, (label, shard)
    again = done["summary"]["labels"]
    assert again["card_arrival"][2] < 11  # the planted rows' label_shift stays a shortfall
    assert sum(v[2] for v in again.values()) > sum(v[2] for v in labels.values())

    # an input without labels cannot fit the label check
    pd.DataFrame({"text": [r[0] for r in rows]}).to_csv(tmp_path / "nolabel.csv", index=False)
    raw2 = {**raw, "input": {"path": "nolabel.csv", "label_column": None}, "output": "o2"}
    with pytest.raises(ValueError, match="label_column is unset"):
        Job(RunConfig.from_dict(raw2, base=tmp_path), show_progress=False).run()


def test_augment_bench_takes_checks_by_name(shared_data, text_encoder, capsys):
    from augment.bench.text import TextBenchmark
    from augment.cli import main

    code = main(["bench", "text", "--train", "a.txt", "--test", "b.txt", "--checks", "band,labl"])
    assert code == 2
    assert "unknown check 'labl'; known: band, fluency, label, siblings" in capsys.readouterr().err
    root = shared_data / "text" / "trec"
    bench = TextBenchmark(
        root / "train.txt",
        root / "test.txt",
        sizes=("3/class",),
        seeds=1,
        n_variants=2,
        models=("tfidf",),
        c_grid=(1.0,),
        n_splits=2,
        checks=["band", {"name": "label", "min_probability": 0.3}, "siblings"],
        fidelity_filter=FidelityFilter(text_encoder),
        show_progress=False,
    )
    result = bench.run()
    (plan,) = result.meta["plan"].values()
    filtered = next(s for s in plan["strategies"] if s["name"] == "filtered")
    assert [c["name"] for c in filtered["filter"]] == ["band", "label", "siblings"]
    assert {"none", "filtered", "size_matched"} <= set(result.per_trial().arm)
