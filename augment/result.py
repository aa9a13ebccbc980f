"""AugmentResult: everything one augmentation run produced, every input row accounted for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from augment.candidate import Candidate


@dataclass
class AugmentResult:
    """Everything a run produced; every input row is accounted for.

    ``candidates`` holds every variant made, each with its verdict; ``errors`` holds one record
    per (source, variant) whose pipeline raised, naming the row and the cause. Persona results
    (:class:`augment.persona.PersonaResult`) offer the same ``candidates``, ``accepted``,
    ``to_frame`` and ``summary``.
    """

    candidates: list[Candidate]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_sources: int = 0

    @property
    def accepted(self) -> list[Candidate]:
        return [c for c in self.candidates if c.accepted]

    @property
    def rejected(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.accepted]

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: ids, label, payload, operations, seed, similarity, reason."""
        rows = [c.to_dict() for c in self.candidates]
        df = pd.DataFrame(rows)
        if not rows:
            return df
        df["op_chain"] = [" > ".join(op.name for op in c.operations) for c in self.candidates]
        return df

    def summary(self) -> pd.DataFrame:
        """Counts and shares per reason (plus pipeline errors)."""
        counts = pd.Series([c.verdict.reason.value for c in self.candidates], dtype="object")
        table = counts.value_counts().rename_axis("reason").reset_index(name="count")
        if self.errors:
            table.loc[len(table)] = ["error", len(self.errors)]
        total = int(table["count"].sum()) if len(table) else 0
        table["share"] = (table["count"] / max(total, 1)).round(3)
        return table

    def accept_rate_by_operation(self) -> pd.DataFrame:
        """Accept rate of each operation chain (how often what it made was kept)."""
        return accept_rate_by_chain(
            [" > ".join(op.name for op in c.operations) or "(none)" for c in self.candidates],
            [c.accepted for c in self.candidates],
        )


def accept_rate_by_chain(chains: list[str], accepted: list[bool]) -> pd.DataFrame:
    """Candidates, accepted and accept rate per operation chain, most used first."""
    df = pd.DataFrame({"op_chain": chains, "accepted": accepted})
    if df.empty:
        return pd.DataFrame(columns=["op_chain", "candidates", "accepted", "accept_rate"])
    g = df.groupby("op_chain")["accepted"].agg(["count", "sum"]).reset_index()
    g.columns = ["op_chain", "candidates", "accepted"]
    g["accept_rate"] = (g["accepted"] / g["candidates"]).round(3)
    return g.sort_values("candidates", ascending=False, ignore_index=True)
