"""`augment demo`: a one-command tour on example data shipped with the project.

Each modality has a module here with ``run(data: Path | None, out: Path) -> None`` that prints
what it kept and rejected and writes its plots under ``out``; ``data`` points at larger real sets
(e.g. ../shared/data) when given.
"""

from __future__ import annotations

import importlib
from pathlib import Path

#: modality -> module under augment.demo; a modality whose module is missing is skipped.
SECTIONS = ("text", "image", "persona")


def available() -> list[str]:
    names = []
    for name in SECTIONS:
        if importlib.util.find_spec(f"augment.demo.{name}") is not None:
            names.append(name)
    return names


def run(data: Path | None, out: Path, only: list[str] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in only or available():
        module = importlib.import_module(f"augment.demo.{name}")
        print(f"\n=== {name} ===")
        module.run(data, out)
