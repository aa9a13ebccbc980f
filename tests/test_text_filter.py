"""The text fidelity filter on the real packaged all-MiniLM-L6-v2 and real sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fidelity import Band, FidelityFilter, Reason, TextEncoder


def test_paraphrases_score_above_unrelated_sentences(text_encoder):
    flt = FidelityFilter(text_encoder)
    sources = [
        "The loan was approved after the second review.",
        "My parcel has not arrived and the tracking has not moved in a week.",
        "Please close my account and delete my personal data.",
    ]
    paraphrases = [
        "After the second review the loan got approved.",
        "My package hasn't arrived and its tracking hasn't updated for a week.",
        "Please shut down my account and erase my personal information.",
    ]
    unrelated = [sources[1], sources[2], sources[0]]
    para = flt.score(sources, paraphrases)
    other = flt.score(sources, unrelated)
    assert np.all(para > 0.75), para
    assert np.all(other < 0.4), other
    assert np.all(para - other > 0.5)


def test_meaning_flip_scores_measurably_lower_than_a_paraphrase(text_encoder):
    flt = FidelityFilter(text_encoder)
    src = "The loan was approved"
    flip, para = flt.score([src, src], ["The loan was not approved", "The loan has been approved"])
    assert para - flip > 0.03, (flip, para)


def test_band_rejects_drift_and_exact_copies(text_encoder):
    flt = FidelityFilter(text_encoder, min_similarity=0.7, max_similarity=0.98)
    src = "The package was delivered to the wrong address."
    verdicts = flt.judge(
        [src] * 3,
        [
            "The parcel went to the wrong address.",
            "What interest rate applies to a five year car loan?",
            src,
        ],
    )
    assert [v.reason for v in verdicts] == [Reason.ACCEPTED, Reason.DRIFT, Reason.NEAR_DUPLICATE]
    assert verdicts[0].accepted and not verdicts[1].accepted and not verdicts[2].accepted
    assert verdicts[2].similarity == 1.0 and "identical" in verdicts[2].detail
    assert "<" in verdicts[1].detail and verdicts[1].similarity < 0.7


def test_identical_output_is_near_duplicate_even_with_an_open_band(text_encoder):
    flt = FidelityFilter(text_encoder, min_similarity=-1.0, max_similarity=1.0)
    (v,) = flt.judge(["Same words."], ["Same words."])
    assert v.reason is Reason.NEAR_DUPLICATE


def test_cache_encodes_each_source_once(shared_data):
    from tests.conftest import read_labelled

    _, texts = read_labelled(shared_data / "text" / "sst2" / "train.txt", limit=12)
    enc = TextEncoder(batch_size=16, backend="torch")  # the hook counts torch model calls
    seen: list[int] = []
    model = enc.sentence_transformer
    hook = model[0].register_forward_hook(lambda m, i, o: seen.append(len(o["input_ids"])))
    try:
        sources = [t for t in texts for _ in range(4)]
        candidates = [f"{t} {k}" for t in texts for k in ("indeed", "really", "truly", "again")]
        FidelityFilter(enc).judge(sources, candidates)
        # 12 distinct sources + 48 distinct candidates reach the model, not 96 texts
        assert sum(seen) == 12 + 48
        assert enc.stats.encoded == 60
        assert enc.stats.cache_hits == 36
        # a second pass over the same sources costs no model call for them
        seen.clear()
        FidelityFilter(enc).judge(sources, [c + "!" for c in candidates])
        assert sum(seen) == 48
    finally:
        hook.remove()


def test_embeddings_are_normalised_and_match_sentence_transformers(text_encoder):
    texts = ["A short one.", "A much longer sentence that needs more tokens than the first one."]
    ours = text_encoder.encode(texts)
    ref = text_encoder.sentence_transformer.encode(texts, normalize_embeddings=True)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_bad_input_gives_invalid_verdicts_that_name_the_row(text_encoder):
    flt = FidelityFilter(text_encoder)
    sources = ["Fine source.", "Fine source.", None, "Fine source.", float("nan"), "Fine source."]
    candidates = ["", "   ", "Fine candidate.", 42, "x", "A fine candidate."]
    verdicts = flt.judge(sources, candidates)
    assert len(verdicts) == len(sources)  # no row disappears
    reasons = [v.reason for v in verdicts]
    assert reasons[:5] == [Reason.INVALID] * 5
    assert reasons[5] is not Reason.INVALID
    assert verdicts[0].detail == "row 0: candidate is empty"
    assert verdicts[1].detail == "row 1: candidate is whitespace only"
    assert verdicts[2].detail == "row 2: source is missing (None)"
    assert verdicts[3].detail == "row 3: candidate is int, not text"
    assert verdicts[4].detail == "row 4: source is missing (NaN)"
    assert all(math.isnan(v.similarity) for v in verdicts[:5])


def test_unreadable_text_is_invalid_and_the_rest_of_the_batch_is_scored(text_encoder):
    """A lone surrogate used to raise a tokenizer TypeError and lose the batch; zero-width-only
    and NUL-only strings used to be scored."""
    from augment import Augmenter
    from augment.text import TextPipeline

    flt = FidelityFilter(text_encoder)
    src = "The delivery arrived two days late."
    candidates = [
        "The parcel came two days late.",
        "x \ud800 y",
        "\u200b\u200d",
        "\x00\x00",
        "Late.",
    ]
    verdicts = flt.judge([src] * 5, candidates)
    assert [v.reason for v in verdicts[1:4]] == [Reason.INVALID] * 3
    assert verdicts[1].detail.startswith("row 1: candidate is not valid Unicode")
    assert "U+D800 at character 2" in verdicts[1].detail
    assert verdicts[2].detail.startswith("row 2: candidate has no visible character")
    assert "U+200B" in verdicts[2].detail and "U+0000" in verdicts[3].detail
    for v in (verdicts[0], verdicts[4]):  # the good rows are scored
        assert v.reason is not Reason.INVALID and 0 < v.similarity < 1
    # through the Augmenter: the bad source's variants are invalid, the other source is scored
    res = Augmenter(TextPipeline.from_preset("eda"), flt, n_variants=2).run(
        ["Bad \ud800 source text here.", src]
    )
    by_source = {}
    for c in res.candidates:
        by_source.setdefault(c.source_id, []).append(c.verdict)
    assert len(by_source[0]) == 2 and all(v.reason is Reason.INVALID for v in by_source[0])
    assert all("source is not valid Unicode" in v.detail for v in by_source[0])
    assert all(v.reason is not Reason.INVALID for v in by_source[1])


def test_mismatched_lengths_are_an_error(text_encoder):
    with pytest.raises(ValueError, match="differ in length"):
        FidelityFilter(text_encoder).judge(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="sequence"):
        FidelityFilter(text_encoder).judge("a source", "a candidate")


def test_long_texts_are_truncated_with_a_warning_and_a_note(text_encoder, caplog):
    long = " ".join(["the customer reported that the delivery was late again"] * 60)
    flt = FidelityFilter(text_encoder, min_similarity=0.5)
    with caplog.at_level("WARNING"):
        (v,) = flt.judge([long], [long + " Thanks."])
    assert "truncated to the model window" in v.detail and "> 256 tokens" in v.detail
    assert "exceed the model window" in caplog.text
    assert not math.isnan(v.similarity)


def test_pandas_columns_keep_every_row_and_name_rows_by_index(text_encoder):
    df = pd.DataFrame(
        {
            "src": ["The box arrived damaged.", None, "The box arrived damaged."],
            "cand": ["The box came damaged.", "Something.", "The box arrived damaged."],
        },
        index=["a", "b", "c"],
    )
    out = FidelityFilter(text_encoder).filter_frame(df, "src", "cand")
    assert list(out.index) == ["a", "b", "c"]
    assert list(out.reason) == ["accepted", "invalid", "near_duplicate"]
    assert out.loc["b", "detail"].startswith("row 'b': source is missing")
    with pytest.raises(KeyError, match="not in the frame"):
        FidelityFilter(text_encoder).filter_frame(df, "source", "cand")


def test_band_validation_and_round_trip(text_encoder):
    with pytest.raises(ValueError, match="above max_similarity"):
        Band(0.9, 0.5)
    with pytest.raises(ValueError, match="in \\[-1, 1\\]"):
        Band(0.5, 1.5)
    flt = FidelityFilter(TextEncoder(batch_size=8), 0.6, 0.95)
    again = FidelityFilter.from_dict(flt.to_dict())
    assert again.band == flt.band and again.encoder.batch_size == 8
