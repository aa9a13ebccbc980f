"""Calibrating the band from shipped paraphrases and real sentences."""

from __future__ import annotations

import numpy as np
import pytest

from augment.io import example_path, read_labelled_text, read_pairs
from fidelity import FidelityFilter, Reason, calibrate


def test_band_from_data_admits_paraphrases_and_rejects_other_sources(text_encoder, tmp_path):
    tickets = read_labelled_text(example_path("text", "tickets.tsv"))
    srcs, paras = read_pairs(example_path("text", "paraphrases.tsv"))
    label = dict(zip(tickets.text, tickets.label))
    cal = calibrate(srcs, paras, labels=[label[s] for s in srcs], encoder=text_encoder)
    rates = cal.rates()
    assert rates["safe_accepted"] >= 0.85
    assert rates["same_label_accepted"] <= 0.05
    assert rates["other_label_accepted"] <= 0.05
    # same-label sources are closer to each other than to other labels
    assert np.median(cal.same_label) > np.median(cal.other_label)
    assert cal.band.min_similarity > np.quantile(cal.same_label, 0.9)
    png = cal.plot(tmp_path / "cal.png")
    assert png.stat().st_size > 10_000
    # the derived band drives the filter
    flt = FidelityFilter.from_band(cal.band, text_encoder)
    verdicts = flt.judge(srcs[:3], [srcs[5], srcs[10], srcs[15]])
    assert all(v.reason is Reason.DRIFT for v in verdicts)


def test_calibrate_on_shared_sst2_says_when_unrelated_pairs_overlap(text_encoder, shared_data):
    """Movie-review sentences of one label are not paraphrases: deletion variants of a source must
    still score above random other sentences."""
    from tests.conftest import read_labelled

    labels, texts = read_labelled(shared_data / "text" / "sst2" / "train.txt", limit=150)
    # light, known-safe edits: drop the final punctuation token and a leading article
    safe = [t.rstrip(" .!?") for t in texts]
    cal = calibrate(texts, safe, labels=labels, encoder=text_encoder, keep=0.9)
    assert cal.band.min_similarity > float(
        np.quantile(np.concatenate([cal.same_label, cal.other_label]), 0.9)
    )
    assert cal.to_dict()["safe"]["n"] == 150


def test_calibrate_rejects_bad_input(text_encoder):
    with pytest.raises(ValueError, match="in pairs"):
        calibrate(["a", "b"], ["a"], encoder=text_encoder)
    with pytest.raises(ValueError, match="at least 2"):
        calibrate(["a"], ["b"], encoder=text_encoder)
