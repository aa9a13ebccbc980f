"""Behaviour lock: the same seeds give the same candidates and verdicts as when
``tests/data/golden_outputs.json`` was recorded (by ``tests/golden_outputs.py``, on the code
before the augmentation core was merged into one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_outputs  # noqa: E402

RECORDED = json.loads(golden_outputs.FIXTURE.read_text(encoding="utf-8"))


def test_text_presets_make_the_recorded_candidates_and_verdicts():
    assert golden_outputs.text_outputs() == RECORDED["text"]


def test_training_integrations_serve_the_recorded_rows():
    assert golden_outputs.training_outputs() == RECORDED["training"]


def test_xray_preset_makes_the_recorded_images_and_verdicts(shared_data):
    if not (shared_data / "image" / "pneumoniamnist.npz").is_file():
        pytest.skip(f"{shared_data}/image/pneumoniamnist.npz is absent")
    assert golden_outputs.image_outputs(shared_data) == RECORDED["image"]


def test_persona_generate_makes_the_recorded_personas():
    assert golden_outputs.persona_outputs() == RECORDED["persona"]
