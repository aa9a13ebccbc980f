"""Cheap, exact re-seeding of albumentations' random state for every sample.

albumentations draws from a numpy ``Generator`` and a ``random.Random``. Building both from a seed
for every image (``Compose.set_random_seed``) costs more than some transforms (a SeedSequence and
a Mersenne Twister initialisation per transform) and gives every transform the *same* stream, so
their draws are correlated. Here one counter-based Philox generator is keyed with the sample seed
(setting its state is a few microseconds) and shared by all transforms, drawing in turn; the
``random.Random`` that albumentations also wants draws from the same generator.
"""

from __future__ import annotations

import copy
import random

import numpy as np

_ZEROS4 = np.zeros(4, dtype=np.uint64)


class NumpyBackedRandom(random.Random):
    """A ``random.Random`` whose draws come from a numpy ``Generator`` (so one seed drives both)."""

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        super().__init__()

    def seed(self, a: object = None, version: int = 2) -> None:  # state lives in the generator
        pass

    def __reduce__(self) -> tuple:  # copies and pickles share nothing with the original
        return (type(self), (copy.deepcopy(self._generator),))

    def random(self) -> float:
        return float(self._generator.random())

    def getrandbits(self, k: int) -> int:
        if k <= 0:
            return 0
        words = self._generator.integers(0, 2**32, size=(k + 31) // 32, dtype=np.uint64)
        value = 0
        for w in words:
            value = (value << 32) | int(w)
        return value >> (32 * len(words) - k)


class SampleRandomState:
    """The random state of one pipeline, reset from a sample seed before each sample."""

    def __init__(self) -> None:
        self.bit_generator = np.random.Philox(key=0)
        self.generator = np.random.Generator(self.bit_generator)
        self.py_random = NumpyBackedRandom(self.generator)

    def reset(self, seed: int) -> None:
        """Key the generator with ``seed`` and rewind it: the draws that follow depend on the
        seed alone."""
        seed = int(seed)
        self.bit_generator.state = {
            "bit_generator": "Philox",
            "state": {
                "counter": _ZEROS4.copy(),
                "key": np.array([seed & 0xFFFFFFFFFFFFFFFF, seed >> 64 & 0xFFFFFFFFFFFFFFFF],
                                dtype=np.uint64),
            },
            "buffer": _ZEROS4.copy(),
            "buffer_pos": 4,
            "has_uint32": 0,
            "uinteger": 0,
        }
