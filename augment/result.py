"""AugmentResult: everything one augmentation run produced, every input row accounted for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    ``planned`` is the plan's count of variants per label (the sum of its sources' counts);
    ``top_up`` says whether the augmenter drew more candidates to reach it (then ``summary``
    has a ``shortfall`` row when a label stayed short). :meth:`acceptance_by_label` shows both;
    :meth:`acceptance_by` shows the same per segment or slice (``planned_by_source``: the
    plan's count per source id).
    """

    candidates: list[Candidate]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_sources: int = 0
    planned: dict[Any, int] | None = None
    top_up: bool = False
    planned_by_source: dict[Any, int] | None = None

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
        """Counts and shares per reason (plus pipeline errors). After a top-up that left a label
        below its planned count, a last row ``shortfall`` counts the accepted variants the plan
        asked for and did not get (its share is of the planned count)."""
        counts = pd.Series([c.verdict.reason.value for c in self.candidates], dtype="object")
        table = counts.value_counts().rename_axis("reason").reset_index(name="count")
        if self.errors:
            table.loc[len(table)] = ["error", len(self.errors)]
        total = int(table["count"].sum()) if len(table) else 0
        table["share"] = (table["count"] / max(total, 1)).round(3)
        if self.top_up and self.planned:
            short = int(self.acceptance_by_label()["shortfall"].sum())
            if short:
                planned = sum(self.planned.values())
                table.loc[len(table)] = ["shortfall", short, round(short / max(planned, 1), 3)]
        return table

    def acceptance_by_label(self) -> pd.DataFrame:
        """Per label: ``planned`` (variants the plan asked for), ``candidates`` made,
        ``accepted``, ``accept_rate``, ``shortfall`` (planned minus accepted, at least 0),
        ``errors`` (pipeline failures) and the count of each rejection reason
        (:func:`fidelity.report.acceptance_by_label`). A filter that thins one class more than
        another shows here; ``Augmenter(top_up=True)`` draws more for the short ones."""
        by_source = {c.source_id: c.label for c in self.candidates}
        err = [e["label"] if "label" in e else by_source.get(e["source_id"]) for e in self.errors]
        return _acceptance(
            self.candidates, [c.label for c in self.candidates], self.planned or {}, err, "label"
        )

    def acceptance_by(self, group_of: Mapping[Any, Any], name: str = "slice") -> pd.DataFrame:
        """The same table per segment or slice: ``group_of`` maps a source id to its group (a
        column of the plan, a slice of the data); ``planned`` adds up the plan's counts of the
        group's sources (``planned_by_source``), and ids not in it are ``(none)``."""
        planned: dict[Any, int] = {}
        for sid, n in (self.planned_by_source or {}).items():
            g = group_of.get(sid)
            planned[g] = planned.get(g, 0) + n
        keys = [group_of.get(c.source_id) for c in self.candidates]
        err = [group_of.get(e["source_id"]) for e in self.errors]
        return _acceptance(self.candidates, keys, planned, err, name)

    def accept_rate_by_operation(self) -> pd.DataFrame:
        """Accept rate of each operation chain (how often what it made was kept)."""
        return accept_rate_by_chain(
            [" > ".join(op.name for op in c.operations) or "(none)" for c in self.candidates],
            [c.accepted for c in self.candidates],
        )


def _acceptance(
    candidates: Sequence[Candidate],
    keys: Sequence[Any],
    planned: Mapping[Any, int],
    error_keys: Sequence[Any],
    name: str,
) -> pd.DataFrame:
    """Planned, candidates, accepted, accept rate, each reason, shortfall and errors per key."""
    from fidelity.report import acceptance_by_label

    table = acceptance_by_label([c.verdict for c in candidates], [_key(k) for k in keys])
    table = table.set_index("label")
    planned = {_key(k): n for k, n in planned.items()}
    groups = list(dict.fromkeys([*planned, *table.index]))
    table = table.reindex(groups)
    num = table.columns
    table[num] = table[num].fillna(0).astype({c: "int64" for c in num if c != "accept_rate"})
    table.insert(0, "planned", [planned.get(k, 0) for k in groups])
    table["shortfall"] = (table["planned"] - table["accepted"]).clip(lower=0)
    err = pd.Series([_key(k) for k in error_keys], dtype="object")
    table["errors"] = [int((err == k).sum()) for k in groups]
    return table.rename_axis(name).reset_index()


def _key(label: Any) -> Any:
    """A label as a table key (a missing label is ``None``, shown as ``(none)``)."""
    return "(none)" if label is None else label


def accept_rate_by_chain(chains: list[str], accepted: list[bool]) -> pd.DataFrame:
    """Candidates, accepted and accept rate per operation chain, most used first."""
    df = pd.DataFrame({"op_chain": chains, "accepted": accepted})
    if df.empty:
        return pd.DataFrame(columns=["op_chain", "candidates", "accepted", "accept_rate"])
    g = df.groupby("op_chain")["accepted"].agg(["count", "sum"]).reset_index()
    g.columns = ["op_chain", "candidates", "accepted"]
    g["accept_rate"] = (g["accepted"] / g["candidates"]).round(3)
    return g.sort_values("candidates", ascending=False, ignore_index=True)
