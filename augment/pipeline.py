"""What a modality pipeline provides to the Augmenter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from augment.candidate import Operation


@runtime_checkable
class Pipeline(Protocol):
    """Makes one variant of one payload, reproducibly from ``seed``.

    ``apply`` returns the new payload and the operations applied with the parameters actually
    drawn (a list, or a sequence that works them out on first read, as images do). A pipeline
    may also define ``check(source, candidate) -> str | None``: a constraint (protected span,
    label, validity rule) that the candidate broke, in words; the Augmenter turns it into a
    ``constraint`` verdict before the filter runs.
    """

    modality: str

    def apply(self, payload: Any, seed: int) -> tuple[Any, Sequence[Operation]]: ...
