"""Shared fixtures: the real data sets in ../shared/data and the packaged MiniLM model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data sets; tests that need it skip with a clear message without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data folder {SHARED_DATA} is absent: set AUGMENT_SHARED_DATA or place it "
            "beside the repo as ../shared/data"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def data_path(shared_data: Path) -> Path:
    """PneumoniaMNIST (``image/pneumoniamnist.npz``) in the shared data; skips without it."""
    path = shared_data / "image" / "pneumoniamnist.npz"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the image benchmark needs PneumoniaMNIST")
    return path


def read_labelled(path: Path, limit: int | None = None) -> tuple[list[int], list[str]]:
    """Read a ``label<TAB>text`` file."""
    labels, texts = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if "\t" not in line:
                continue
            lab, text = line.rstrip("\n").split("\t", 1)
            labels.append(int(lab))
            texts.append(text.strip())
            if limit is not None and len(texts) >= limit:
                break
    return labels, texts


@pytest.fixture(scope="session")
def text_encoder():
    """The real packaged all-MiniLM-L6-v2, loaded once per test session."""
    from fidelity import TextEncoder

    return TextEncoder()
