"""How many variants a job makes for each row: the same number for all, a plan file, or a
class-balance plan; checked against the input before anything runs.

Ids are strings everywhere in a job (see :mod:`augment.run.inputs`), so a plan written by
:func:`augment.targeting.plan_by_balance` with integer row numbers reads back as the same ids.
A plan that names an id the input does not have, or gives a row a negative, boolean, fractional
or too large count, is a :class:`~augment.run.config.ConfigError` naming the row.
"""

from __future__ import annotations

import csv
from pathlib import Path

from augment.run.config import MAX_VARIANTS_PER_ROW, ConfigError, RunConfig
from augment.run.inputs import InputScan
from augment.targeting import plan_by_balance, variant_count

Counts = int | dict[str, int]


def _cell_count(text: str, source_id: str) -> int:
    """A plan file's ``n_variants`` cell as a count (``"2"``, ``"2.0"``; not ``"true"``)."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return variant_count(t.lower() == "true", source_id)
    try:
        value: int | float = int(t)
    except ValueError:
        try:
            value = float(t)
        except ValueError:
            raise ValueError(
                f"n_variants for source_id {source_id!r} is {text!r}, not a number"
            ) from None
    return variant_count(value, source_id)


def read_plan_file(path: Path) -> dict[str, int]:
    """``{source_id: n_variants}`` from a plan CSV (columns ``source_id``, ``n_variants``; the
    others, such as ``why``, are for people). Ids are read as text, as the input's are."""
    if not path.is_file():
        raise ConfigError(f"targeting.plan {path} does not exist")
    counts: dict[str, int] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, strict=True)
            missing = {"source_id", "n_variants"} - set(reader.fieldnames or [])
            if missing:
                raise ConfigError(
                    f"targeting.plan {path}: no column(s) {sorted(missing)} "
                    f"(columns: {reader.fieldnames})"
                )
            for rec in reader:
                line = reader.line_num
                sid = rec["source_id"]
                if sid is None or rec["n_variants"] is None:
                    raise ConfigError(f"targeting.plan {path} line {line}: too few fields")
                if sid in counts:
                    raise ConfigError(
                        f"targeting.plan {path} line {line}: source_id {sid!r} appears twice"
                    )
                try:
                    counts[sid] = _cell_count(rec["n_variants"], sid)
                except ValueError as exc:
                    raise ConfigError(f"targeting.plan {path} line {line}: {exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"targeting.plan {path}: not a readable UTF-8 CSV ({exc})") from None
    return counts


def job_counts(cfg: RunConfig, scan: InputScan) -> Counts:
    """The variants per row of ``cfg``'s targeting, checked against the input ``scan``: every
    id a plan names is an input row, every count within :data:`MAX_VARIANTS_PER_ROW`."""
    t = cfg.targeting
    if t.n_variants is not None:
        return t.n_variants
    if t.plan is not None:
        counts = read_plan_file(t.plan)
        where = f"targeting.plan {t.plan}"
        unknown = [k for k in counts if not scan.has_id(k)]
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            raise ConfigError(
                f"{where}: {len(unknown)} source id(s) are not in the input {cfg.input.path}: "
                f"{shown}" + (" ..." if len(unknown) > 5 else "")
            )
    else:
        b = t.balance
        assert b is not None and scan.labelled is not None
        if not scan.labelled:
            raise ConfigError("targeting.balance: no readable row to plan for")
        ids = [i for i, _ in scan.labelled]
        plan = plan_by_balance(
            [str(lab) for _, lab in scan.labelled],
            b.budget,
            b.target_share,
            ids=ids,
            max_per_row=b.max_per_row,
            random_state=cfg.seed,
        )
        counts = {str(k): int(v) for k, v in zip(plan["source_id"], plan["n_variants"])}
        where = "targeting.balance"
    big = [(k, n) for k, n in counts.items() if n > MAX_VARIANTS_PER_ROW]
    if big:
        k, n = big[0]
        raise ConfigError(
            f"{where}: {n} variants for source_id {k!r} ({len(big)} row(s) above "
            f"{MAX_VARIANTS_PER_ROW}, the most a job makes for one row)"
        )
    return counts


def planned(counts: Counts, source_id: str | None) -> int:
    """Variants planned for one row (a row with no id known gets those of an int plan)."""
    if isinstance(counts, int):
        return counts
    return counts.get(source_id, 0) if source_id is not None else 0


def total_variants(counts: Counts, rows: int) -> int:
    """Variants planned for the whole job."""
    return counts * rows if isinstance(counts, int) else int(sum(counts.values()))
