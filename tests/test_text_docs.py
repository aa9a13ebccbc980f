"""The Python examples in docs/text.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_text_docs_example_runs(tmp_path, monkeypatch, text_encoder):
    from augment.text.wordnet_data import WordNetUnavailable, load_wordnet

    try:
        load_wordnet()
    except WordNetUnavailable as exc:
        pytest.skip(f"WordNet is not set up: {exc}")
    code = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "text.md").read_text(), flags=re.S)
    assert code, "docs/text.md has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in code:
        exec(compile(block, "docs/text.md", "exec"), namespace)
    assert namespace["result"].n_sources == 3
