"""The image section of `augment demo` runs on shipped images and writes its grid (the example
in docs/image.md runs in tests/test_docs.py)."""

from __future__ import annotations

import pytest

from augment.demo import image as image_demo

pytest.importorskip("skimage")


def test_demo_on_shipped_images_writes_the_grid(tmp_path, capsys):
    image_demo.run(None, tmp_path)
    out = capsys.readouterr().out
    assert "scikit-image" in out and "summary:" in out
    for reason in ("accepted", "drift", "near_duplicate"):
        assert reason in out
    assert (tmp_path / "image_grid.png").stat().st_size > 50_000
    assert (tmp_path / "image_similarity.png").stat().st_size > 10_000
    table = (tmp_path / "image_candidates.csv").read_text()
    assert "preset xray" in table and "rotate 170" in table
