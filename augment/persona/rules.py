"""Rules a user states about customer rows, kept by generation and checked on every persona.

* ``"total_charges ~ tenure * monthly_charges"`` (a :class:`Formula`): the target follows the
  expression up to a factor. The synthesizers model the factor (learned from real rows) instead of
  the target, and rebuild the target from it, so the relation holds by construction.
* ``"monthly_charges <= 120"`` (a :class:`Condition`): a boolean expression every persona must
  satisfy; a persona that breaks it is rejected with a ``constraint`` verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from augment.persona.expression import parse


@dataclass(frozen=True)
class Condition:
    """A boolean expression that every generated row must satisfy (the grammar of
    :mod:`augment.persona.expression`; anything outside it is refused when the rule is made)."""

    expression: str

    def __post_init__(self) -> None:
        parse(self.expression, "rule")

    def holds(self, df: pd.DataFrame) -> np.ndarray:
        return parse(self.expression, "rule").condition(df, "rule")

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class Formula:
    """``target ~ expression``: the target is the expression times a factor near 1 (the
    expression in the grammar of :mod:`augment.persona.expression`).

    ``tolerance`` (optional) bounds the factor: ``|target / expression - 1| <= tolerance``. Without
    it, generated factors stay inside the range of factors seen in the real rows. Where the
    expression is 0 the target is 0.
    """

    target: str
    expression: str
    tolerance: float | None = None

    def __post_init__(self) -> None:
        parse(self.expression, self._what)

    @property
    def _what(self) -> str:
        return f"rule {str(self)!r}: expression"

    def values(self, df: pd.DataFrame) -> np.ndarray:
        return parse(self.expression, self._what).numbers(df, self._what)

    def factor(self, df: pd.DataFrame) -> np.ndarray:
        """target / expression per row (NaN where the expression is 0)."""
        expr = self.values(df)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expr != 0, df[self.target].to_numpy(dtype=np.float64) / expr, np.nan)

    def holds(self, df: pd.DataFrame) -> np.ndarray:
        if self.tolerance is None:
            return np.ones(len(df), dtype=bool)
        expr = self.values(df)
        target = df[self.target].to_numpy(dtype=np.float64)
        return np.abs(target - expr) <= self.tolerance * np.abs(expr) + 1e-9

    def __str__(self) -> str:
        return f"{self.target} ~ {self.expression}"


Rule = Condition | Formula


def parse_rule(rule: Rule | str | dict[str, Any]) -> Rule:
    """A rule from its string form (``"a ~ b * c"`` is a Formula, anything else a Condition) or
    its dict form."""
    if isinstance(rule, (Condition, Formula)):
        return rule
    if isinstance(rule, dict):
        rule = dict(rule)
        kind = rule.pop("type", None)
        if kind == "formula":
            return Formula(**rule)
        if kind == "condition":
            return Condition(**rule)
        raise ValueError(f"unknown rule type {kind!r} (expected 'formula' or 'condition')")
    if not isinstance(rule, str) or not rule.strip():
        raise TypeError(f"a rule is a non-empty string, got {rule!r}")
    if "~" in rule:
        target, _, expr = rule.partition("~")
        target, expr = target.strip(), expr.strip()
        if not target.isidentifier() or not expr:
            raise ValueError(f"formula rule {rule!r} must read 'column ~ expression'")
        return Formula(target, expr)
    return Condition(rule.strip())


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, Formula):
        return {
            "type": "formula",
            "target": rule.target,
            "expression": rule.expression,
            "tolerance": rule.tolerance,
        }
    return {"type": "condition", "expression": rule.expression}
