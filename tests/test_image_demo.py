"""The image section of `augment demo` and the example in docs/image.md run as written."""

from __future__ import annotations

import re

import pytest

from augment.demo import image as image_demo
from tests.conftest import REPO

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


def test_docs_example_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "image.md").read_text(), re.S)
    assert code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in code:
        exec(compile(block, "docs/image.md", "exec"), namespace)
    assert (tmp_path / "xray.yaml").is_file()
