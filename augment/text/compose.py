"""Composites of text operations: run steps in sequence, pick one, or run one sometimes. A
``Step`` is an operation or one of these; :func:`step_from_dict` reads one back from its dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from augment.text.base import TextOperation, operation_from_dict


class Sequential:
    """Apply every step in order."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Sequential", "steps": [s.to_dict() for s in self.steps]}


class OneOf:
    """Apply one step, drawn with ``weights`` (uniform when ``None``)."""

    def __init__(self, steps: Sequence[Step], weights: Sequence[float] | None = None) -> None:
        self.steps = list(steps)
        self.weights = None if weights is None else list(weights)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "OneOf",
            "steps": [s.to_dict() for s in self.steps],
            "weights": self.weights,
        }


class Sometimes:
    """Apply ``step`` with probability ``p``."""

    def __init__(self, step: Step, p: float = 0.5) -> None:
        self.step = step
        self.p = p

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Sometimes", "p": self.p, "step": self.step.to_dict()}


Step = TextOperation | Sequential | OneOf | Sometimes


def step_from_dict(d: dict[str, Any]) -> Step:
    kind = d.get("type")
    if kind == "Sequential":
        return Sequential([step_from_dict(s) for s in d["steps"]])
    if kind == "OneOf":
        return OneOf([step_from_dict(s) for s in d["steps"]], d.get("weights"))
    if kind == "Sometimes":
        return Sometimes(step_from_dict(d["step"]), d.get("p", 0.5))
    return operation_from_dict(d)
