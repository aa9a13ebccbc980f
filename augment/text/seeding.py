"""Run third-party augmenters (nlpaug draws from the global ``random`` and ``numpy.random``)
reproducibly from a per-sample seed, without disturbing the caller's random state."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

_LOCK = threading.RLock()


@contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Seed ``random`` and ``numpy.random`` for the block, then restore their previous state."""
    with _LOCK:
        py_state = random.getstate()
        np_state = np.random.get_state()
        random.seed(seed)
        np.random.seed(seed % (2**32))
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
