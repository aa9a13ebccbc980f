"""Progress bars on a terminal, quiet in logs and CI."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress(
    total: int, desc: str, unit: str = "it", enable: bool | None = None, min_total: int = 1_000
) -> tqdm:
    """A tqdm bar with rate and ETA, shown when ``enable`` is true, or, when ``enable`` is None,
    when stderr is a terminal and the work has at least ``min_total`` items."""
    if enable is None:
        enable = sys.stderr.isatty() and total >= min_total
    return tqdm(total=total, desc=desc, unit=unit, disable=not enable, dynamic_ncols=True)
