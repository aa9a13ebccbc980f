"""Span-annotated text: labelled spans stay on their characters through every operation, their
offsets are re-mapped, a rewrite that loses one is a constraint, bad spans are error records."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from augment import Augmenter
from augment.candidate import Source, sample_seed
from augment.io.text_files import example_path
from augment.run.config import RunConfig
from augment.run.job import Job, load_tables
from augment.spans import (
    MentionReplacement,
    SpanError,
    SpanPipeline,
    SpanText,
    parse_span_text,
    read_span_jsonl,
    write_span_jsonl,
)
from augment.spans.formats import read_conll, span_text_to_tags, tags_to_span_text
from augment.text import (
    KeyboardNoise,
    OcrNoise,
    OneOf,
    RandomDeletion,
    RandomSwap,
    Sometimes,
    TextOperation,
    TextPipeline,
)

CONTRACTS = example_path("text", "contracts_spans.jsonl")


def cheap_text_pipeline(on_broken: str = "revert") -> TextPipeline:
    """EDA word edits and character noise: no WordNet or model to load."""
    return TextPipeline(
        [
            OneOf([RandomSwap(aug_p=0.2), RandomDeletion(aug_p=0.2)]),
            Sometimes(OneOf([KeyboardNoise(aug_word_p=0.2), OcrNoise(aug_word_p=0.2)]), p=0.5),
        ],
        on_broken=on_broken,
    )


@pytest.fixture(scope="module")
def contracts() -> list[Source]:
    sources, errors = read_span_jsonl(CONTRACTS)
    assert errors == [] and len(sources) == 22
    return sources


class Rewrite(TextOperation):
    """A raw-text rewrite (as back-translation or a language model works): it sees the real
    text, not placeholders, and here renames the parties and reformats amounts."""

    name = "rewrite"
    masks_protected = False

    def transform(self, text: str, seed: int) -> tuple[str, dict]:
        out = text.replace("The Tenant", "The Renter").replace("$1,200", "1200 dollars")
        return out, {"rewritten": out != text}


def test_1000_variants_keep_every_span_text_and_label(contracts):
    pipe = SpanPipeline(cheap_text_pipeline())
    n, changed = 0, 0
    while n < 1000:
        for src in contracts:
            doc = parse_span_text(src.payload)
            out, ops = pipe.apply(src.payload, sample_seed(0, src.id, n))
            cand = parse_span_text(out)  # offsets valid: in range, not overlapping
            assert cand.mentions() == doc.mentions(), (src.id, n, out)
            assert pipe.check(src.payload, out) is None
            mapping = ops[-1]
            assert mapping.name == "span_map" and mapping.params["lost"] == []
            for (label, s0, e0, s1, e1), span in zip(mapping.params["spans"], cand.spans):
                assert (label, s1, e1) == (span.label, span.start, span.end)
                assert doc.text[s0:e0] == cand.text[s1:e1]
            changed += cand.text != doc.text
            n += 1
    assert n >= 1000 and changed > 0.8 * n  # the texts did change around the spans


def test_a_rewrite_that_loses_a_span_is_a_constraint(contracts):
    row = contracts[0]  # "The Tenant shall pay the monthly rent of $1,200 on ..."
    reverted = SpanPipeline(TextPipeline([Rewrite()]))
    out, ops = reverted.apply(row.payload, 1)
    assert out["text"] == row.payload["text"]  # the rewrite broke a span: undone
    assert ops[0].params["reverted"] and "broke" in ops[0].params
    kept = SpanPipeline(TextPipeline([Rewrite()], on_broken="keep"))
    out, ops = kept.apply(row.payload, 1)
    assert "The Renter" in out["text"]
    assert [lost[0] for lost in ops[-1].params["lost"]] == ["PARTY", "AMOUNT"]
    assert "PARTY 'The Tenant' is missing" in kept.check(row.payload, out)
    result = Augmenter(kept, n_variants=2).run([row])
    assert [c.verdict.reason.value for c in result.candidates] == ["constraint"] * 2


class MoveDate(TextOperation):
    """A raw-text paraphrase that moves a clause to the front, spans with it."""

    name = "move_date"
    masks_protected = False

    def transform(self, text: str, seed: int) -> tuple[str, dict]:
        head, _, date = text.rstrip(".").rpartition(" on or before ")
        return f"On or before {date}, {head}.", {}


def test_a_paraphrase_that_moves_spans_keeps_them_at_their_new_offsets(contracts):
    row = contracts[0].payload
    pipe = SpanPipeline(TextPipeline([MoveDate()], on_broken="keep"))
    out, ops = pipe.apply(row, 0)
    assert out["text"].startswith("On or before 1 March 2024, The Tenant shall pay")
    doc = parse_span_text(out)
    assert [m for m in doc.mentions()] == [
        ("DATE", "1 March 2024"),
        ("PARTY", "The Tenant"),
        ("OBLIGATION", "pay the monthly rent"),
        ("AMOUNT", "$1,200"),
    ]
    assert ops[-1].params["lost"] == [] and pipe.check(row, out) is None


def test_apertium_back_translation_keeps_or_loses_spans_visibly(contracts):
    from augment.text import ApertiumBackTranslation

    missing = ApertiumBackTranslation.available()
    if missing:
        pytest.skip(f"Apertium back-translation cannot run here: {missing}")
    pipe = SpanPipeline(TextPipeline([ApertiumBackTranslation()], on_broken="keep"))
    changed = 0
    for src in contracts[:3]:
        out, ops = pipe.apply(src.payload, 0)
        changed += out["text"] != src.payload["text"]
        broken = pipe.check(src.payload, out)
        if ops[-1].params["lost"]:  # a span the translation rewrote: a constraint
            assert broken is not None and "missing from the candidate" in broken
        else:  # every span found again, on the same characters
            assert parse_span_text(out).mentions() == parse_span_text(src.payload).mentions()
    assert changed > 0


def test_mention_replacement_swaps_same_label_mentions_and_remaps(contracts):
    bank = MentionReplacement.from_rows([s.payload for s in contracts], p=1.0, labels=["PARTY"])
    pipe = SpanPipeline(cheap_text_pipeline(), mentions=bank)
    src = contracts[4].payload  # two PARTY spans
    doc = parse_span_text(src)
    out, ops = pipe.apply(src, 5)
    cand = parse_span_text(out)
    assert ops[0].name == "mention_replacement" and len(ops[0].params["replaced"]) == 2
    assert [s.label for s in cand.spans] == [s.label for s in doc.spans]
    for (label, old), (_, new) in zip(doc.mentions(), cand.mentions()):
        assert new == old or (label == "PARTY" and new in bank.mentions["PARTY"])
    assert pipe.check(src, out) is None
    foreign, _ = MentionReplacement({"PARTY": ["Zorg Ltd"]}, p=1.0).apply(doc, 0)
    assert "Zorg Ltd" in foreign.text
    assert "PARTY 'The Licensee' is missing" in pipe.check(src, foreign.to_dict())
    same = SpanPipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    assert same.apply(src, 5) == (out, ops)


def test_filter_judges_the_text_and_spans_survive_the_augmenter(contracts, text_encoder):
    from augment.records import FieldFilter
    from fidelity import FidelityFilter

    flt = FieldFilter(FidelityFilter(text_encoder), ["text"])
    result = Augmenter(SpanPipeline(cheap_text_pipeline()), flt, n_variants=2).run(contracts[:6])
    assert len(result.candidates) == 12 and not result.errors
    reasons = {c.verdict.reason.value for c in result.candidates}
    assert reasons <= {"accepted", "drift", "near_duplicate"} and "accepted" in reasons
    for c in result.accepted:
        assert 0 < c.verdict.similarity <= 1 and "text" in c.verdict.detail


@pytest.mark.parametrize(
    "spans, field, words",
    [
        (
            [{"start": 0, "end": 10, "label": "PARTY"}, {"start": 4, "end": 12, "label": "X"}],
            "spans[1]",
            "overlaps spans[0]",
        ),
        ([{"start": 70, "end": 99, "label": "DATE"}], "spans[0]", "out of range"),
        (
            [{"start": 0, "end": 10, "label": "PARTY", "text": "The Lessee"}],
            "spans[0]",
            "the text there is 'The Tenant'",
        ),
        ([{"start": 5, "end": 5, "label": "PARTY"}], "spans[0]", "empty or reversed"),
        ([{"start": 0, "label": "PARTY"}], "spans[0]", "has no end"),
    ],
)
def test_bad_spans_name_the_field(contracts, spans, field, words):
    row = {"text": contracts[0].payload["text"], "spans": spans}
    with pytest.raises(SpanError) as err:
        parse_span_text(row)
    assert err.value.field == field and words in str(err.value)
    result = Augmenter(SpanPipeline(cheap_text_pipeline()), n_variants=1).run([Source("r7", row)])
    assert result.candidates == [] and result.errors[0]["source_id"] == "r7"
    assert field in result.errors[0]["error"]


def test_jsonl_bad_lines_are_error_records_and_good_rows_round_trip(tmp_path, contracts):
    path = tmp_path / "rows.jsonl"
    good = [s.payload for s in contracts[:3]]
    lines = [json.dumps(r).encode() for r in good]
    lines.insert(1, b'{"text": "caf\xe9 au lait", "spans": []}')  # Latin-1, not UTF-8
    lines.insert(
        3, json.dumps({"text": "short", "spans": [{"start": 0, "end": 9, "label": "X"}]}).encode()
    )
    lines.insert(4, b"not json")
    path.write_bytes(b"\n".join(lines) + b"\n")
    sources, errors = read_span_jsonl(path)
    assert [s.id for s in sources] == ["c01", "c02", "c03"]
    assert [(e["row"], e["field"]) for e in errors] == [(1, None), (3, "spans[0]"), (4, None)]
    assert "not UTF-8" in errors[0]["error"] and "not valid JSON" in errors[2]["error"]
    out = tmp_path / "out.jsonl"
    write_span_jsonl(out, [SpanText.from_dict(g) for g in good])
    again, _ = read_span_jsonl(out, id_key=None)
    assert [parse_span_text(s.payload) for s in again] == [parse_span_text(g) for g in good]


def test_conll_tags_become_spans_and_back(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text(
        "-DOCSTART- O\n\nThe B-PARTY\nTenant I-PARTY\nshall O\npay O\n$1,200 B-AMOUNT\n\n"
        "Acme B-PARTY\nLtd I-PARTY\nsigned O\n"
    )
    docs = read_conll(path)
    assert [d.mentions() for d in docs] == [
        [("PARTY", "The Tenant"), ("AMOUNT", "$1,200")],
        [("PARTY", "Acme Ltd")],
    ]
    assert tags_to_span_text(span_text_to_tags(docs[0])) == docs[0]


def test_augment_run_reads_and_writes_span_rows(tmp_path, contracts):
    rows = CONTRACTS.read_bytes().splitlines()[:8]
    rows.insert(2, b"\xff\xfe broken line")
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(rows) + b"\n")
    cfg = {
        "input": {
            "path": "in.jsonl",
            "payload_columns": ["text", "spans"],
            "id_column": "id",
            "label_column": None,
        },
        "modality": "spans",
        "pipeline": {"spec": SpanPipeline(cheap_text_pipeline()).to_dict()},
        "targeting": {"n_variants": 2},
        "output": "out",
        "shard_rows": 4,
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg))
    Job(RunConfig.load(tmp_path / "job.yaml"), show_progress=False).run()
    tables = load_tables(tmp_path / "out")
    made = pd.concat([tables["accepted"], tables["rejected"]])
    # 9 rows x 2 variants planned = 16 made + 2 errors (one per planned variant of the bad row)
    assert len(made) == 16 and len(tables["errors"]) == 2
    assert tables["errors"].row.tolist() == [2, 2]
    assert all("line 3: not UTF-8" in e for e in tables["errors"].error)
    by_id = {s.id: parse_span_text(s.payload) for s in contracts}
    for sid, payload in zip(made.source_id, made.payload):
        assert parse_span_text(json.loads(payload)).mentions() == by_id[sid].mentions()


def test_spacy_docbin_round_trip(tmp_path, contracts):
    pytest.importorskip("spacy")
    from augment.spans.formats import read_docbin, write_docbin

    docs = [parse_span_text(s.payload) for s in contracts]
    write_docbin(tmp_path / "c.spacy", docs)
    assert read_docbin(tmp_path / "c.spacy") == docs
    bad = {"text": "Acme Ltd pays.", "spans": [{"start": 0, "end": 3, "label": "PARTY"}]}
    with pytest.raises(ValueError, match="spans\\[0\\] PARTY \\[0, 3\\) 'Acm'"):
        write_docbin(tmp_path / "bad.spacy", [bad])
