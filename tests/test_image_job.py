"""`augment run` on images: PneumoniaMNIST X-rays through the "xray" preset and the image filter,
with PNGs written, the image band by default, and provenance that regenerates each variant."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml

from augment.image import ImagePipeline
from augment.run.job import load_tables

EXE = shutil.which("augment") or str(Path(sys.executable).with_name("augment"))


def test_image_job_end_to_end(tmp_path, shared_data):
    npz = shared_data / "image" / "pneumoniamnist.npz"
    cfg = {
        "input": {"path": str(npz), "npz_images_key": "test_images",
                  "npz_labels_key": "test_labels", "limit": 16},
        "modality": "image",
        "pipeline": {"preset": "xray"},
        "targeting": {"n_variants": 2},
        "seed": 5,
        "output": "out",
        "shard_rows": 8,
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([EXE, "run", "job.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    band = json.loads((out / "manifest.json").read_text())["config"]["filter"]
    assert (band["min_similarity"], band["max_similarity"]) == (0.75, 0.99)  # not text's
    tables = load_tables(out)
    both = pd.concat([tables["accepted"], tables["rejected"]])
    assert len(both) == 32 and tables["accepted"].shape[0] >= 20
    with np.load(npz) as d:
        sources = d["test_images"][:16]
    pipe = ImagePipeline.from_preset("xray")
    for row in both.itertuples():
        png = cv2.imread(str(out / row.payload), cv2.IMREAD_UNCHANGED)
        expected, ops = pipe.apply(sources[int(row.source_id)], int(row.seed))
        assert np.array_equal(png, expected)  # the recorded seed regenerates the variant
        assert json.loads(row.operations) == [o.to_dict() for o in ops]
