"""The provenance record every modality emits: one augmented sample and how it was made."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from augment._version import __version__
from fidelity.verdict import Verdict


def sample_seed(random_state: int, source_id: Any, variant: int) -> int:
    """The seed of one variant of one source.

    A hash of (random_state, source id, variant index), not a draw from a shared generator, so the
    same variant gets the same seed in any process, any DataLoader worker and in any order.
    """
    key = f"{int(random_state)}\x1f{source_id!s}\x1f{int(variant)}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


@dataclass
class Source:
    """One input row: its id, payload (text, image, record) and label."""

    id: Any
    payload: Any
    label: Any = None


@dataclass(frozen=True)
class Operation:
    """One applied operation and the parameters actually drawn for this sample
    (e.g. ``{"angle": -3.2}``, ``{"replaced": [["quick", "fast"]]}``)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


@dataclass
class Candidate:
    """One augmented sample.

    ``operations`` is the chain that made ``payload`` from the source, with drawn parameters (a
    list, or a sequence worked out on first read such as the one
    :meth:`augment.image.ImagePipeline.apply` returns, which pickles as a list); ``seed``
    reproduces it; ``version`` is the library version that made it. ``verdict`` is attached by
    the fidelity filter.
    """

    source_id: Any
    variant: int
    payload: Any
    label: Any = None
    operations: Sequence[Operation] = field(default_factory=list)
    seed: int | None = None
    version: str = __version__
    verdict: Verdict | None = None

    @property
    def candidate_id(self) -> str:
        return f"{self.source_id}:{self.variant}"

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.accepted

    def to_dict(self, payload_key: str = "payload") -> dict[str, Any]:
        """A flat record for tables and files (verdict fields inlined)."""
        d: dict[str, Any] = {
            "candidate_id": self.candidate_id,
            "source_id": self.source_id,
            "variant": self.variant,
            "label": self.label,
            payload_key: self.payload,
            "operations": [op.to_dict() for op in self.operations],
            "seed": self.seed,
            "version": self.version,
        }
        if self.verdict is not None:
            d.update(self.verdict.to_dict())
        return d

    def to_record(self, payload: Any = None) -> dict[str, Any]:
        """The one flat row of this candidate for tables and files: ids, label, ``payload``
        (this candidate's own unless a written form, such as an image's file path, is given),
        similarity (``None`` when not scored), reason, detail, operations as JSON text, seed and
        version. Columns: :data:`RECORD_COLUMNS`."""
        from augment.io.json_values import json_default

        v = self.verdict
        sim = None if v is None or math.isnan(v.similarity) else float(v.similarity)
        return {
            "candidate_id": self.candidate_id,
            "source_id": self.source_id,
            "variant": self.variant,
            "label": self.label,
            "payload": self.payload if payload is None else payload,
            "similarity": sim,
            "reason": None if v is None else v.reason.value,
            "detail": "" if v is None else v.detail,
            "operations": json.dumps(
                [op.to_dict() for op in self.operations], default=json_default
            ),
            "seed": self.seed,
            "version": self.version,
        }


#: The columns of :meth:`Candidate.to_record`, in order.
RECORD_COLUMNS = [
    "candidate_id",
    "source_id",
    "variant",
    "label",
    "payload",
    "similarity",
    "reason",
    "detail",
    "operations",
    "seed",
    "version",
]
