"""The Python examples in the README and docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [
    "README.md",
    "docs/fidelity.md",
    "docs/calibration.md",
    "docs/provenance.md",
    "docs/training.md",
    "docs/huggingface.md",
    "docs/targeting.md",
    "docs/run.md",
    "docs/core.md",
    "docs/image.md",
    "docs/extraction.md",
    "docs/instruction-data.md",
    "docs/personas.md",
    "docs/benchmarks/downstream.md",
    "docs/text_generators.md",
    "docs/benchmarks/round2.md",
    "docs/benchmarks/image_robustness.md",
]


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / page).read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_examples_run(page, tmp_path, monkeypatch):
    code = blocks(page)
    assert code, f"{page} has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in code:
        exec(compile(block, page, "exec"), namespace)
