"""The parameters albumentations drew for one sample, as plain JSON-friendly operations, and the
lazy sequence that works them out only when they are read."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from augment.candidate import Operation

#: Bookkeeping entries that say nothing about what was done to this sample.
_DROP = {"shape", "output_shape", "bbox_matrix", "x_min", "x_max", "y_min", "y_max"}


def operations(applied: list[tuple[str, dict[str, Any]]]) -> list[Operation]:
    """One :class:`Operation` per transform that fired, with the parameters drawn for it.

    Geometric transforms record their warp ``matrix`` and the ``angle`` in degrees
    (counter-clockwise), and ``scale`` where the transform did not name it.
    """
    ops = []
    for name, params in applied:
        clean = {
            k: v if type(v) in _PLAIN else _plain(v) for k, v in params.items() if k not in _DROP
        }
        matrix = params.get("matrix")
        if matrix is not None:
            angle = params.get("rotate")
            if angle is None:
                angle = math.degrees(math.atan2(float(matrix[0, 1]), float(matrix[0, 0])))
            clean["angle"] = float(angle)
            if "scale" not in clean:
                clean["scale"] = math.hypot(float(matrix[0, 0]), float(matrix[0, 1]))
        ops.append(Operation(name, clean))
    return ops


_PLAIN = {float, int, str, bool, type(None)}


class LazyOperations(Sequence[Operation]):
    """The operations of one sample, worked out on first read and kept.

    ``compute`` makes the list; it runs once, when the operations are first read (length,
    iteration, indexing, ``==``, ``repr``, ``list(...)``, pickling), and is then dropped with
    whatever it held. :meth:`augment.image.ImagePipeline.apply` hands one out so that a caller who
    never reads the operations (a training loop) never pays for them: its ``compute`` re-runs the
    same seeded sample with albumentations' parameter tracking on.

    It reads like a list and equals the list it holds; it pickles and copies as that plain list.
    """

    __slots__ = ("_compute", "_ops")

    def __init__(self, compute: Callable[[], list[Operation]]) -> None:
        self._compute: Callable[[], list[Operation]] | None = compute
        self._ops: list[Operation] | None = None

    @property
    def materialised(self) -> bool:
        """Whether the operations have been worked out already."""
        return self._ops is not None

    def _list(self) -> list[Operation]:
        ops = self._ops
        if ops is None:
            compute = self._compute
            ops = self._ops  # another thread may have finished in between (then compute is None)
            if ops is None:
                ops = list(compute())  # type: ignore[misc]
                self._ops = ops  # before dropping compute: see above
                self._compute = None
        return ops

    @overload
    def __getitem__(self, index: int) -> Operation: ...

    @overload
    def __getitem__(self, index: slice) -> list[Operation]: ...

    def __getitem__(self, index: int | slice) -> Operation | list[Operation]:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._list())

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._list())

    def __contains__(self, item: object) -> bool:
        return item in self._list()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyOperations):
            other = other._list()
        if isinstance(other, list):
            return self._list() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list

    def __add__(self, other: Sequence[Operation]) -> list[Operation]:
        return self._list() + list(other)

    def __radd__(self, other: Sequence[Operation]) -> list[Operation]:
        return list(other) + self._list()

    def __reduce__(self) -> tuple:  # pickles (DataLoader workers, Ray) and copies: a plain list
        return (list, (self._list(),))

    def __repr__(self) -> str:
        return repr(self._list())


def _plain(value: Any) -> Any:
    t = type(value)
    if t in _PLAIN:
        return value
    if t is dict:
        return {str(k): v if type(v) in _PLAIN else _plain(v) for k, v in value.items()}
    if t is np.ndarray:
        return value.tolist()
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
