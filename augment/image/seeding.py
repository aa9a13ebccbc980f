"""Cheap, exact re-seeding of albumentations' random state for every sample.

albumentations draws from a numpy ``Generator`` and a ``random.Random``. Building both from a seed
for every image (``Compose.set_random_seed``) costs more than some transforms (a SeedSequence and
a Mersenne Twister initialisation per transform) and gives every transform the *same* stream, so
transforms with the same probability fire together or not at all. Here one counter-based Philox
generator is keyed with the sample seed (setting its state is a few microseconds) and shared by
all transforms, drawing in turn; the ``random.Random`` that albumentations also wants draws from
the same generator.
"""

from __future__ import annotations

import copy
import random

import numpy as np


class NumpyBackedRandom(random.Random):
    """A ``random.Random`` whose draws come from a numpy ``Generator`` (so one seed drives both).

    Floats are drawn 16 at a time and handed out in order (albumentations asks for a few per
    transform, and one call into numpy costs more than the draw); ``clear`` drops the unused ones
    when the generator is re-keyed.
    """

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator
        self._raw = generator.bit_generator.random_raw
        self._floats: list[float] = []
        super().__init__()

    def seed(self, a: object = None, version: int = 2) -> None:  # state lives in the generator
        pass

    def clear(self) -> None:
        self._floats.clear()

    def __reduce__(self) -> tuple:  # copies and pickles share nothing with the original
        return (type(self), (copy.deepcopy(self._generator),))

    def random(self) -> float:
        if not self._floats:
            self._floats = self._generator.random(16).tolist()
            self._floats.reverse()
        return self._floats.pop()

    def getrandbits(self, k: int) -> int:
        if k <= 0:
            return 0
        if k <= 64:  # what albumentations asks for (randint): one raw draw
            return self._raw() >> (64 - k)
        raw = self._raw
        value, bits = 0, 0
        while bits < k:
            value = (value << 64) | int(raw())
            bits += 64
        return value >> (bits - k)


class SampleRandomState:
    """The random state of one pipeline, reset from a sample seed before each sample."""

    def __init__(self) -> None:
        self.bit_generator = np.random.Philox(key=0)
        self.generator = np.random.Generator(self.bit_generator)
        self.py_random = NumpyBackedRandom(self.generator)
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
        """Key the generator with ``seed`` and rewind it: the draws that follow depend on the
        seed alone."""
        seed = int(seed)
        key = self._key
        key[0] = seed & 0xFFFFFFFFFFFFFFFF
        key[1] = (seed >> 64) & 0xFFFFFFFFFFFFFFFF
        self.bit_generator.state = self._state  # copied in: counter, buffer and key start afresh
        self.py_random.clear()
