"""`augment demo` runs end to end through the installed command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_demo_text_section_runs_and_writes_plots(tmp_path):
    exe = shutil.which("augment") or str(Path(sys.executable).with_name("augment"))
    proc = subprocess.run(
        [exe, "demo", "--only", "text", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "calibrated band" in out and "summary:" in out
    for reason in ("accepted", "drift", "near_duplicate", "invalid"):
        assert reason in out
    assert (tmp_path / "text_similarity.png").stat().st_size > 10_000
    assert (tmp_path / "text_calibration.png").stat().st_size > 10_000
    assert (tmp_path / "text_candidates.csv").is_file()


def test_demo_rejects_unknown_section(tmp_path):
    from augment.cli import main

    assert main(["demo", "--only", "nope", "--out", str(tmp_path)]) == 2
