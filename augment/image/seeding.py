"""Cheap, exact re-seeding of albumentations' random state for every sample.

albumentations draws from a numpy ``Generator`` and a ``random.Random``. Building both from a seed
for every image (``Compose.set_random_seed``) costs more than some transforms (a SeedSequence and
a Mersenne Twister initialisation per transform) and gives every transform the *same* stream, so
transforms with the same probability fire together or not at all. Here one pair is shared by all
transforms, drawing in turn, and re-seeded in place from the sample seed: a counter-based Philox
``Generator`` keyed with the seed (setting its state is a few microseconds) and a ``random.Random``
(a C Mersenne Twister) seeded with it. Both are C code: the Python-side draws (whether a transform
fires, most of its parameters) cost what they cost raw albumentations, and no numpy call is added
to a sample.
"""

from __future__ import annotations

import random

import numpy as np


class SampleRandomState:
    """The random state of one pipeline, reset from a sample seed before each sample."""

    def __init__(self) -> None:
        self.bit_generator = np.random.Philox(key=0)
        self.generator = np.random.Generator(self.bit_generator)
        self.py_random = random.Random(0)
        # Plain ints, not numpy arrays: the state setter reads them one by one, and a Python int
        # converts in a fraction of the time of a numpy scalar (half the cost of a reset).
        self._key = [0, 0]
        self._state = {
            "bit_generator": "Philox",
            "state": {"counter": [0, 0, 0, 0], "key": self._key},
            "buffer": [0, 0, 0, 0],
            "buffer_pos": 4,
            "has_uint32": 0,
            "uinteger": 0,
        }

    def reset(self, seed: int) -> None:
        """Key the generator and seed the ``random.Random`` with ``seed``: the draws that follow
        depend on the seed alone."""
        seed = int(seed)
        key = self._key
        key[0] = seed & 0xFFFFFFFFFFFFFFFF
        key[1] = (seed >> 64) & 0xFFFFFFFFFFFFFFFF
        self.bit_generator.state = self._state  # copied in: counter, buffer and key start afresh
        self.py_random.seed(seed)  # a C Mersenne Twister: a couple of microseconds, no numpy
