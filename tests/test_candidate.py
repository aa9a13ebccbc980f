"""Provenance records and the Augmenter on real sentences with nlpaug operations."""

from __future__ import annotations

import subprocess
import sys

from augment import Augmenter, Candidate, Operation, Source, __version__, sample_seed
from augment.text import RandomDeletion, RandomSwap, TextPipeline
from fidelity import FidelityFilter, Reason


def test_sample_seed_is_stable_across_processes():
    here = [sample_seed(0, "row-7", v) for v in range(3)]
    code = "from augment import sample_seed; print([sample_seed(0, 'row-7', v) for v in range(3)])"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert str(here) == there.stdout.strip()
    assert len(set(here)) == 3 and sample_seed(1, "row-7", 0) != here[0]


def test_candidate_record_carries_provenance():
    c = Candidate("s1", 2, "new text", "billing", [Operation("word_swap", {"aug_p": 0.2})], 99)
    d = c.to_dict()
    assert d["candidate_id"] == "s1:2" and d["version"] == __version__
    assert d["operations"] == [{"name": "word_swap", "params": {"aug_p": 0.2}}]
    assert not c.accepted


def test_augmenter_accounts_for_every_row(text_encoder):
    texts = [
        "I was charged twice for my subscription this month.",
        "The courier left the parcel outside in the rain.",
        "",
    ]
    pipe = TextPipeline([RandomSwap(0.2), RandomDeletion(0.2)])
    result = Augmenter(pipe, FidelityFilter(text_encoder), n_variants=3, random_state=1).run(
        [Source(f"t{i}", t, "x") for i, t in enumerate(texts)] + [Source("bad", 5, "x")]
    )
    # the int source fails in the pipeline: recorded per variant, not dropped
    assert len(result.errors) == 3 and all(e["source_id"] == "bad" for e in result.errors)
    assert "not str" in result.errors[0]["error"]
    assert len(result.candidates) == 9
    reasons = {c.verdict.reason for c in result.candidates}
    assert reasons <= set(Reason)
    empty = [c for c in result.candidates if c.source_id == "t2"]
    assert all(c.verdict.reason is Reason.INVALID for c in empty)
    for c in result.candidates:
        assert [op.name for op in c.operations] == ["random_swap", "random_deletion"]
        assert c.seed == sample_seed(1, c.source_id, c.variant)
    table = result.summary()
    assert table["count"].sum() == 9 + 3


def test_same_seed_same_candidates(text_encoder):
    srcs = ["The bank rejected my request to extend the loan term."] * 1
    pipe = TextPipeline([RandomSwap(0.3)])
    a = Augmenter(pipe, FidelityFilter(text_encoder), 4, random_state=5).run(srcs)
    b = Augmenter(pipe, FidelityFilter(text_encoder), 4, random_state=5).run(srcs)
    assert [c.payload for c in a.candidates] == [c.payload for c in b.candidates]
    assert len({c.payload for c in a.candidates}) > 1
