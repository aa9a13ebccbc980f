"""Structured records: the field policy (rewrite, keep, judge), chat turns, JSONL and Parquet,
Hugging Face rows through augment_batch, bad input as error records."""

from __future__ import annotations

import copy
import json

import pytest

from augment import Augmenter
from augment.hf import augment_batch
from augment.io.text_files import example_path
from augment.records import FieldFilter, RecordPipeline, read_records, write_records
from augment.spans import SpanPipeline, parse_span_text
from augment.text import OneOf, ProtectedSpans, RandomDeletion, RandomSwap, TextPipeline
from fidelity import FidelityFilter

CHATS = example_path("records", "chat.jsonl")
INSTRUCTIONS = example_path("records", "instructions.jsonl")


def word_edits() -> TextPipeline:
    return TextPipeline([OneOf([RandomSwap(aug_p=0.2), RandomDeletion(aug_p=0.2)])])


@pytest.fixture(scope="module")
def text_filter(text_encoder) -> FidelityFilter:
    return FidelityFilter(text_encoder)


@pytest.fixture(scope="module")
def chats():
    sources, errors = read_records(CHATS)
    assert errors == [] and len(sources) == 6
    return sources


def test_chat_keeps_assistant_and_system_turns_byte_identical(chats, text_filter):
    pipe = RecordPipeline({"messages": word_edits()})
    before = copy.deepcopy([s.payload for s in chats])
    result = Augmenter(pipe, pipe.fidelity_filter(text_filter), n_variants=5).run(chats)
    assert len(result.candidates) == 30 and not result.errors
    assert [s.payload for s in chats] == before  # sources untouched
    user_changed = 0
    for c in result.candidates:
        src = before[[s.id for s in chats].index(c.source_id)]["messages"]
        out = c.payload["messages"]
        assert len(out) == len(src)
        for t, o in zip(src, out):
            if t["role"] != "user":
                assert json.dumps(o) == json.dumps(t)  # byte-identical
            else:
                assert o["role"] == "user"
                user_changed += o["content"] != t["content"]
        fields = {op.params["field"] for op in c.operations}
        assert all(src[int(f.split("[")[1][:-1])]["role"] == "user" for f in fields)
        assert pipe.check({"messages": src, "id": c.source_id}, c.payload) is None
    assert user_changed >= 30
    # each rewritten turn is judged against its own source turn
    two_turns = [c for c in result.candidates if c.source_id == "chat1"]
    assert all(
        "messages[1]" in c.verdict.detail and "messages[3]" in c.verdict.detail
        for c in two_turns
        if c.verdict.reason.value in ("accepted", "drift")
    )
    assert {c.verdict.reason.value for c in result.candidates} <= {
        "accepted",
        "drift",
        "near_duplicate",
    }


def test_a_changed_assistant_turn_breaks_the_policy(chats):
    pipe = RecordPipeline({"messages": word_edits()})
    src = chats[1].payload
    out, _ = pipe.apply(src, 3)
    out["messages"][1] = {**out["messages"][1], "content": "Something else entirely."}
    assert "messages[1] (assistant) was to be kept but changed" in pipe.check(src, out)


def test_instruction_policy_rewrites_fields_keeps_output_and_judges_by_field(text_filter):
    sources, errors = read_records(INSTRUCTIONS)
    assert not errors
    pipe = RecordPipeline(
        {"instruction": word_edits(), "input": word_edits()}, keep=["output"], judge=["instruction"]
    )
    result = Augmenter(pipe, pipe.fidelity_filter(text_filter), n_variants=3).run(sources)
    assert len(result.candidates) == 18 and not result.errors
    for c in result.candidates:
        src = next(s.payload for s in sources if s.id == c.source_id)
        assert c.payload["output"] == src["output"] and c.payload["id"] == src["id"]
        assert "input" not in c.verdict.detail  # judged by the instruction only
    assert (
        sum(
            c.payload["instruction"] != s.payload["instruction"]
            for c in result.candidates
            for s in sources
            if s.id == c.source_id
        )
        >= 15
    )


def test_a_field_may_be_span_annotated_with_its_own_protected_spans(text_filter):
    text = TextPipeline([RandomSwap(aug_p=0.3)], ProtectedSpans(glossary=["late fee"]))
    pipe = RecordPipeline({"clause": SpanPipeline(text)}, keep=["answer"])
    row = {
        "clause": {
            "text": "A late fee of $75 applies to any invoice unpaid after fourteen days.",
            "spans": [
                {"start": 14, "end": 17, "label": "AMOUNT"},
                {"start": 54, "end": 67, "label": "TERM"},
            ],
        },
        "answer": "$75",
    }
    for seed in range(20):
        out, ops = pipe.apply(row, seed)
        doc = parse_span_text(out["clause"])
        assert doc.mentions() == [("AMOUNT", "$75"), ("TERM", "fourteen days")]
        assert "late fee" in doc.text and pipe.check(row, out) is None
        assert ops[-1].name == "span_map" and ops[-1].params["field"] == "clause"


def test_jsonl_and_parquet_round_trip(tmp_path, chats):
    for name in ("rows.jsonl", "rows.parquet"):
        write_records(tmp_path / name, [s.payload for s in chats])
        again, errors = read_records(tmp_path / name)
        assert not errors and [s.payload for s in again] == [s.payload for s in chats]
        pipe = RecordPipeline({"messages": word_edits()})
        assert pipe.apply(again[0].payload, 1) == pipe.apply(chats[0].payload, 1)


def test_bad_records_are_error_records_naming_row_and_field(tmp_path, text_filter):
    lines = [
        json.dumps(
            {
                "id": "ok",
                "messages": [
                    {"role": "user", "content": "Where is my parcel?"},
                    {"role": "assistant", "content": "On its way."},
                ],
            }
        ),
        json.dumps(
            {
                "id": "no-user",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "assistant", "content": "Hello."},
                ],
            }
        ),
        json.dumps({"id": "no-field", "conversation": []}),
        json.dumps({"id": "bad-turn", "messages": [{"role": "user"}]}),
    ]
    raw = "\n".join(lines).encode() + b"\n" + b'{"id": "latin", "text": "se\xf1or"}\n'
    (tmp_path / "chats.jsonl").write_bytes(raw)
    sources, errors = read_records(tmp_path / "chats.jsonl")
    assert [e["row"] for e in errors] == [4] and "not UTF-8" in errors[0]["error"]
    pipe = RecordPipeline({"messages": word_edits()})
    result = Augmenter(pipe, FieldFilter(text_filter), n_variants=1).run(sources)
    assert [c.source_id for c in result.candidates] == ["ok"]
    why = {e["source_id"]: e["error"] for e in result.errors}
    assert "field 'messages': has no user turn" in why["no-user"]
    assert "field 'messages': missing from the record" in why["no-field"]
    assert "field 'messages[0]': a chat turn needs 'role' and 'content'" in why["bad-turn"]
    instr = RecordPipeline({"instruction": word_edits()}, keep=["output"])
    with pytest.raises(ValueError, match="field 'output': missing"):
        instr.apply({"instruction": "Say hi."}, 0)


def test_spec_round_trip_and_presets(chats):
    pipe = RecordPipeline.from_preset("chat", text="eda")
    same = RecordPipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    assert same == pipe and same.roles == ["user"]
    inst = RecordPipeline.from_preset("instruction")
    assert list(inst.rewrite) == ["instruction", "input"] and inst.keep == ["output"]


def test_hugging_face_rows_through_augment_batch(chats, text_filter):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list([s.payload for s in chats])
    pipe = RecordPipeline({"messages": word_edits()})
    fn = augment_batch(
        pipe, pipe.fidelity_filter(text_filter), n_variants=2, column=None, keep_rejected=True
    )
    out = ds.map(fn, batched=True, with_indices=True, batch_size=4, remove_columns=ds.column_names)
    assert len(out) == 6 * 3
    for row in out:
        src = chats[row["source_index"]].payload
        assert row["id"] == src["id"]
        for t, o in zip(src["messages"], row["messages"]):
            if t["role"] != "user":
                assert o == t


def test_augment_run_config_reads_chat_rows_as_records(tmp_path):
    from augment.run.config import RunConfig
    from augment.run.inputs import iter_shards
    from augment.run.shard import build_pipeline

    raw = CHATS.read_bytes() + b'{"id": "x", "messages": "caf\xe9"}\n'
    (tmp_path / "chat.jsonl").write_bytes(raw)
    cfg = RunConfig.from_dict(
        {
            "input": {
                "path": str(tmp_path / "chat.jsonl"),
                "payload_columns": "all",
                "id_column": "id",
                "label_column": None,
            },
            "modality": "records",
            "pipeline": {"preset": "chat", "options": {"text": "eda"}},
            "output": str(tmp_path / "out"),
            "shard_rows": 4,
        }
    )
    pipe = build_pipeline(cfg)
    assert isinstance(pipe, RecordPipeline) and list(pipe.rewrite) == ["messages"]
    shards = list(iter_shards(cfg.input, cfg.shard_rows))
    assert [len(s.sources) for s in shards] == [4, 2] and len(shards[1].errors) == 1
    assert shards[1].errors[0]["row"] == 6 and "not UTF-8" in shards[1].errors[0]["error"]
    first = shards[0].sources[0]
    assert first.id == "chat1" and first.payload == json.loads(CHATS.read_text().splitlines()[0])
