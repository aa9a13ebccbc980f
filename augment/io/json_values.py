"""How values JSON cannot write (numpy scalars and arrays, anything else) are written."""

from __future__ import annotations

from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """``default=`` for ``json.dumps``: numpy scalars as numbers, arrays as lists, the rest as
    their ``str``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
