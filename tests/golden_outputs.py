"""Record (or recompute) what the library makes from fixed seeds, for the behaviour-lock test.

``python tests/golden_outputs.py`` rewrites ``tests/data/golden_outputs.json``; run it only when
a change of outputs is intended. :func:`compute` is what ``tests/test_golden_outputs.py`` compares
against the recorded file: text presets on the shipped example tickets (candidates, operation
names, verdict reasons and similarities), the ``xray`` preset on a few PneumoniaMNIST images
(hashed) with the image filter's verdicts, and a persona ``generate`` on the shipped example shop.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "data" / "golden_outputs.json"
EXAMPLES = HERE.parents[0] / "augment" / "examples"
TEXT_PRESETS = ("legal", "support", "clinical", "eda")


def _verdict(v) -> list:
    sim = v.similarity
    return [v.reason.value, None if sim != sim else round(float(sim), 3)]


def text_outputs() -> dict:
    from augment import Augmenter
    from augment.text import TextPipeline
    from fidelity.filter import FidelityFilter

    frame = pd.read_csv(EXAMPLES / "text" / "tickets.tsv", sep="\t", names=["label", "text"])
    texts = frame["text"].tolist()[:12]
    flt = FidelityFilter()
    out = {}
    for name in TEXT_PRESETS:
        result = Augmenter(TextPipeline.from_preset(name), flt, 2, random_state=3).run(texts)
        out[name] = [
            [c.candidate_id, c.payload, [o.name for o in c.operations], *_verdict(c.verdict)]
            for c in result.candidates
        ]
    return out


def training_outputs() -> dict:
    """The rows ``augment_batch`` and ``AugmentedDataset`` serve for text, filter given."""
    from augment.hf import augment_batch
    from augment.text import TextPipeline
    from augment.torch import AugmentedDataset
    from fidelity.filter import FidelityFilter

    frame = pd.read_csv(EXAMPLES / "text" / "tickets.tsv", sep="\t", names=["label", "text"])
    frame = frame.head(8)
    flt = FidelityFilter()
    fn = augment_batch(
        TextPipeline.from_preset("support"), flt, 2, random_state=1, keep_rejected=True
    )
    batch = fn(
        {"text": frame["text"].tolist(), "label": frame["label"].tolist()}, list(range(len(frame)))
    )
    rows = [
        [
            batch["source_index"][i],
            batch["text"][i],
            batch["reason"][i],
            round(float(batch["similarity"][i]), 3),
        ]
        for i in range(len(batch["text"]))
    ]
    ds = AugmentedDataset(
        frame, TextPipeline.from_preset("eda"), flt, n_variants=2, random_state=2, return_info=True
    )
    items = ds.__getitems__(list(range(len(ds))))
    served = [
        [it["source_index"], it["payload"], it["reason"], round(float(it["similarity"]), 3)]
        for it in items
    ]
    return {"augment_batch": rows, "dataset": served}


def image_outputs(data: Path) -> dict:
    from augment import Augmenter
    from augment.image import ImagePipeline

    with np.load(data / "image" / "pneumoniamnist.npz") as d:
        images = [d["train_images"][i] for i in range(4)]
    result = Augmenter(ImagePipeline.from_preset("xray"), None, 2, random_state=5).run(images)
    return {
        "xray": [
            [
                c.candidate_id,
                hashlib.sha256(np.ascontiguousarray(c.payload).tobytes()).hexdigest()[:16],
                [o.name for o in c.operations],
                *_verdict(c.verdict),
            ]
            for c in result.candidates
        ]
    }


def persona_outputs() -> dict:
    from augment.persona import PersonaSynthesizer

    table = pd.read_csv(EXAMPLES / "persona" / "customers.csv")
    synth = PersonaSynthesizer(
        rules=["total_spend ~ tenure_months * monthly_spend", "age >= 18"],
        id_column="customer_id",
    )
    synth.fit(table)
    result = synth.generate("age >= 65", 8, interactions=False)
    cols = list(synth.columns_)
    rows = result.personas[cols].head(8)
    digest = hashlib.sha256(rows.to_csv(index=False, float_format="%.4f").encode()).hexdigest()
    return {
        "n_personas": len(result.personas),
        "personas_sha": digest[:16],
        "verdicts": [_verdict(v) for v in result.verdicts],
    }


def compute(data: Path | None) -> dict:
    out = {"text": text_outputs(), "training": training_outputs(), "persona": persona_outputs()}
    if data is not None and (data / "image" / "pneumoniamnist.npz").is_file():
        out["image"] = image_outputs(data)
    return out


if __name__ == "__main__":
    default = os.environ.get("AUGMENT_SHARED_DATA", HERE.parents[1] / "shared" / "data")
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(default)
    FIXTURE.write_text(json.dumps(compute(data), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURE}")
