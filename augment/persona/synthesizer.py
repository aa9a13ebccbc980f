"""PersonaSynthesizer: new customers for a segment, filtered for fidelity and privacy."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from augment.candidate import Candidate, Operation, sample_seed
from augment.persona.copula import GaussianCopula
from augment.persona.identity import IdentityFaker
from augment.persona.interactions import InteractionModel
from augment.persona.rules import Condition, Formula, Rule, parse_rule, rule_to_dict
from augment.persona.schema import (
    ColumnSpec,
    TableSchema,
    check_table,
    describe_missing,
    infer_schema,
    missing_rows,
)
from augment.persona.segment import Segment, SegmentSpec
from augment.persona.smote import SmoteSampler
from augment.persona.validity import CategoryLinks
from fidelity.encoders.tabular import TabularEncoder
from fidelity.segment_filter import SegmentFilter
from fidelity.verdict import Reason, Verdict

log = logging.getLogger(__name__)

METHODS = ("copula", "smote")
_FACTOR = "__factor"


@dataclass
class PersonaResult:
    """What one ``generate`` call produced; every drawn candidate is accounted for.

    ``personas`` are the accepted rows (``persona_id`` and identity columns first, then the
    table's columns, then provenance: ``draw`` index, draw ``round``, ``similarity`` to the
    closest segment row); ``rejected`` the others with ``reason``, ``detail`` and
    ``similarity``; ``verdicts`` one per drawn candidate in draw order (accepted and
    rejected). Drawing stops at the ``n``-th accepted candidate, so
    ``len(verdicts) == len(personas) + len(rejected)``.
    """

    segment: Segment
    method: str
    n_requested: int
    personas: pd.DataFrame
    rejected: pd.DataFrame
    verdicts: list[Verdict]
    interactions: pd.DataFrame | None = None
    round_seeds: list[int] = field(default_factory=list)
    n_segment_rows: int = 0

    @property
    def shortfall(self) -> int:
        """How many of the requested personas could not be made within ``max_rounds``."""
        return max(self.n_requested - len(self.personas), 0)

    def summary(self) -> pd.DataFrame:
        """Count, share and median similarity (to the closest segment row) per reason."""
        reasons = pd.Series([v.reason.value for v in self.verdicts], dtype="object")
        sims = pd.Series([v.similarity for v in self.verdicts], dtype="float64")
        if reasons.empty:
            return pd.DataFrame(columns=["reason", "count", "share", "median_similarity"])
        g = sims.groupby(reasons).median().round(3)
        counts = reasons.value_counts()
        order = [r.value for r in Reason if r.value in counts.index]
        return pd.DataFrame(
            {
                "reason": order,
                "count": [int(counts[r]) for r in order],
                "share": [round(counts[r] / len(reasons), 3) for r in order],
                "median_similarity": [g[r] for r in order],
            }
        )

    @property
    def accepted(self) -> list[Candidate]:
        """The accepted candidates (the personas), as :class:`~augment.candidate.Candidate`."""
        return [c for c in self.candidates if c.accepted]

    def to_frame(self) -> pd.DataFrame:
        """One row per drawn candidate, in draw order: the persona's columns, ``draw``,
        ``round``, ``similarity``, ``accepted``, ``reason`` and ``detail`` (the same reading as
        :meth:`augment.AugmentResult.to_frame`: accepted and rejected in one table)."""
        rows = pd.concat([self.personas, self.rejected], ignore_index=True)
        if rows.empty:
            return rows.assign(accepted=pd.Series(dtype=bool))
        rows = rows.sort_values("draw", ignore_index=True)
        rows["accepted"] = [v.accepted for v in self.verdicts]
        rows["reason"] = [v.reason.value for v in self.verdicts]
        rows["detail"] = [v.detail for v in self.verdicts]
        return rows

    @property
    def candidates(self) -> list[Candidate]:
        """Every drawn candidate as a :class:`augment.candidate.Candidate` (source id: the
        segment; variant: draw index; seed: the seed of its draw round), in draw order; made
        once."""
        cached = self.__dict__.get("_candidates")
        if cached is not None:
            return cached
        rows = pd.concat([self.personas, self.rejected]).sort_values("draw")
        cols = [
            c for c in rows.columns if c not in ("draw", "round", "reason", "detail", "similarity")
        ]
        out = []
        for rec, verdict in zip(rows.to_dict("records"), self.verdicts, strict=True):
            r = int(rec["round"])
            payload = {c: rec[c] for c in cols if not (c == "persona_id" and pd.isna(rec[c]))}
            out.append(
                Candidate(
                    self.segment.name,
                    int(rec["draw"]),
                    payload,
                    None,
                    [Operation(self.method, {"round": r})],
                    self.round_seeds[r],
                    verdict=verdict,
                )
            )
        self.__dict__["_candidates"] = out
        return out


class PersonaSynthesizer:
    """Generates customers of a segment with a Gaussian copula or SMOTE-NC, keeps types, ranges,
    category links and stated rules, and rejects candidates that drift from the segment or come
    too close to a real customer.

    Parameters
    ----------
    method:
        ``"copula"`` (segment-conditional Gaussian copula, fast) or ``"smote"`` (SMOTE-NC
        interpolation between segment neighbours, imbalanced-learn).
    rules:
        Rules every persona keeps: ``"total_charges ~ tenure * monthly_charges"`` (a formula,
        kept by construction) or a condition such as ``"monthly_charges <= 120"``.
    categorical:
        Columns to treat as categories even when numeric.
    id_column:
        The table's customer id: not modelled; links customers to the interaction log.
    identity_columns:
        Real identity columns (names, emails): never modelled, and their values are never given
        to a persona.
    identity_fields, locale:
        Identity columns each persona gets from Faker (``name``, ``email``, ``first_name``,
        ``last_name``); ``()`` for none.
    log_customer_column, log_time_column:
        Id and time columns of the interaction log passed to :meth:`fit`.
    log_neighbours:
        When ``id_column`` links the table to the log: each persona's log is drawn from its
        ``log_neighbours`` nearest real customers of the segment by profile (the table's
        encoder); ``0`` draws every persona's log from the segment's customers alike.
    shrinkage, k_neighbors:
        Copula correlation shrinkage towards the whole table; SMOTE neighbours.
    encoder:
        ``"standard"`` or ``"text"`` :class:`fidelity.encoders.tabular.TabularEncoder` variant.
    min_similarity, privacy_distance, drift_quantile, privacy_quantile:
        The per-segment band and privacy bound (see :class:`fidelity.segment_filter.SegmentFilter`).
    missing:
        ``"error"`` (default): a table with missing values is refused, naming columns and rows;
        ``"drop"``: such rows are left out of fitting and listed in ``dropped_rows_``.
    max_rounds:
        Draw rounds per ``generate`` call before giving up on the remaining count.
    random_state:
        Seed of everything; the same seed, table and call give the same personas.
    """

    def __init__(
        self,
        method: str = "copula",
        rules: Sequence[str | Rule] = (),
        categorical: Sequence[str] = (),
        id_column: str | None = None,
        identity_columns: Sequence[str] = (),
        identity_fields: Sequence[str] = ("name", "email"),
        locale: str = "en_US",
        log_customer_column: str = "customer_id",
        log_time_column: str = "date",
        log_neighbours: int = 5,
        shrinkage: float = 50.0,
        k_neighbors: int = 5,
        encoder: str = "standard",
        min_similarity: float | None = None,
        privacy_distance: float | None = None,
        drift_quantile: float = 0.01,
        privacy_quantile: float = 0.05,
        missing: str = "error",
        max_rounds: int = 20,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.rules = rules
        self.categorical = categorical
        self.id_column = id_column
        self.identity_columns = identity_columns
        self.identity_fields = identity_fields
        self.locale = locale
        self.log_customer_column = log_customer_column
        self.log_time_column = log_time_column
        self.log_neighbours = log_neighbours
        self.shrinkage = shrinkage
        self.k_neighbors = k_neighbors
        self.encoder = encoder
        self.min_similarity = min_similarity
        self.privacy_distance = privacy_distance
        self.drift_quantile = drift_quantile
        self.privacy_quantile = privacy_quantile
        self.missing = missing
        self.max_rounds = max_rounds
        self.random_state = random_state

    # ------------------------------------------------------------------ config
    def get_params(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rules": [rule_to_dict(parse_rule(r)) for r in self.rules],
            "categorical": list(self.categorical),
            "id_column": self.id_column,
            "identity_columns": list(self.identity_columns),
            "identity_fields": list(self.identity_fields),
            "locale": self.locale,
            "log_customer_column": self.log_customer_column,
            "log_time_column": self.log_time_column,
            "log_neighbours": self.log_neighbours,
            "shrinkage": self.shrinkage,
            "k_neighbors": self.k_neighbors,
            "encoder": self.encoder,
            "min_similarity": self.min_similarity,
            "privacy_distance": self.privacy_distance,
            "drift_quantile": self.drift_quantile,
            "privacy_quantile": self.privacy_quantile,
            "missing": self.missing,
            "max_rounds": self.max_rounds,
            "random_state": self.random_state,
        }

    to_dict = get_params

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PersonaSynthesizer:
        d = dict(d)
        d["rules"] = [parse_rule(r) for r in d.get("rules", [])]
        return cls(**d)

    # ------------------------------------------------------------------ fit
    def fit(
        self, table: pd.DataFrame, interactions: pd.DataFrame | None = None
    ) -> PersonaSynthesizer:
        """Learn column types, rules' factors and category links from the customer table, and
        (optionally) the interaction model from its log."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.missing not in ("error", "drop"):
            raise ValueError(f"missing must be 'error' or 'drop', got {self.missing!r}")
        check_table(table)
        for col in [self.id_column, *self.identity_columns]:
            if col is not None and col not in table.columns:
                raise KeyError(
                    f"column {col!r} is not in the table (columns: {list(table.columns)})"
                )
        skip = {self.id_column, *self.identity_columns} - {None}
        cols = [c for c in table.columns if c not in skip]
        if not cols:
            raise ValueError("the table has no columns left to model")
        missing = missing_rows(table[cols])
        self.dropped_rows_: list[Any] = []
        if missing:
            if self.missing == "error":
                raise ValueError(
                    f"missing values in {describe_missing(missing)}; fill them, or pass "
                    "missing='drop' to leave those rows out of fitting"
                )
            bad = table[cols].isna().any(axis=1)
            self.dropped_rows_ = table.index[bad].tolist()
            log.warning(
                "left %d row(s) with missing values out of fitting: %s",
                len(self.dropped_rows_),
                describe_missing(missing),
            )
            table = table[~bad]
        self.table_ = table
        real = table[cols].reset_index(drop=True)
        self.columns_ = cols
        self.schema_ = infer_schema(real, self.categorical)
        self.rules_ = [parse_rule(r) for r in self.rules]
        self.model_frame_, self.model_schema_ = self._model_frame(real)
        self.real_ = real
        cat = self.schema_.of_kind("categorical")
        self.links_ = CategoryLinks().fit(real, cat)
        self.encoder_ = TabularEncoder(self.encoder, columns=cols, categorical=cat).fit(real)
        self.interactions_ = None
        if interactions is not None:
            self.interactions_ = InteractionModel(
                self.log_customer_column, self.log_time_column, self.shrinkage, self.random_state
            ).fit(interactions)
        self._per_segment: dict[Segment, tuple[Any, SegmentFilter, np.ndarray]] = {}
        return self

    def _model_frame(self, real: pd.DataFrame) -> tuple[pd.DataFrame, TableSchema]:
        """The table the samplers see: each formula target replaced by its factor."""
        frame = real.copy()
        specs = list(self.schema_.columns)
        for rule in self.rules_:
            if isinstance(rule, Condition):
                holds = rule.holds(real)
                if not holds.any():
                    raise ValueError(
                        f"rule {rule.expression!r} holds for no row of the table "
                        f"(0 of {len(real)}): check the rule or the table"
                    )
                if not holds.all():
                    log.warning(
                        "rule %r fails for %d of %d real rows; personas must satisfy it",
                        rule.expression,
                        int((~holds).sum()),
                        len(real),
                    )
                continue
            if rule.target not in real.columns:
                raise KeyError(f"rule {rule}: column {rule.target!r} is not in the table")
            if self.schema_[rule.target].kind == "categorical":
                raise ValueError(
                    f"rule {rule}: target {rule.target!r} is categorical, not a number"
                )
            factor = rule.factor(real)
            finite = np.isfinite(factor)
            if not finite.any():
                raise ValueError(f"rule {rule}: the expression is 0 or undefined in every row")
            if rule.tolerance is not None and not rule.holds(real).any():
                raise ValueError(
                    f"rule {rule} (tolerance {rule.tolerance}) holds for no row of the table"
                )
            factor = np.where(finite, factor, np.median(factor[finite]))
            name = rule.target + _FACTOR
            frame[name] = factor
            frame = frame.drop(columns=[rule.target])
            specs = [s for s in specs if s.name != rule.target]
            specs.append(
                ColumnSpec(name, "float", "float64", [], float(factor.min()), float(factor.max()))
            )
        return frame, TableSchema(specs)

    # ------------------------------------------------------------------ generate
    def _segment_state(self, segment: Segment) -> tuple[Any, SegmentFilter, np.ndarray]:
        if segment in self._per_segment:
            return self._per_segment[segment]
        mask = segment.mask(self.real_)
        n_seg = int(mask.sum())
        if n_seg == 0:
            raise ValueError(f"segment {segment.name!r} matches no row of the table")
        if n_seg == 1:
            row = self.table_.index[np.flatnonzero(mask)[0]]
            raise ValueError(
                f"segment {segment.name!r} has a single row (row {row!r}): at least 2 are needed "
                "to learn its distribution, and personas made from one customer would copy it"
            )
        cat = self.model_schema_.of_kind("categorical")
        seg_rows = self.model_frame_[mask]
        if self.method == "copula":
            sampler: Any = GaussianCopula(self.shrinkage, self.random_state)
        else:
            sampler = SmoteSampler(self.k_neighbors, self.random_state)
        sampler.fit(seg_rows, cat, self.model_frame_)
        flt = SegmentFilter(
            self.encoder_,
            self.min_similarity,
            self.privacy_distance,
            self.drift_quantile,
            self.privacy_quantile,
            random_state=self.random_state,
        ).fit(self.real_, mask)
        self._per_segment[segment] = (sampler, flt, mask)
        return sampler, flt, mask

    def segment_filter(self, segment: SegmentSpec) -> SegmentFilter:
        """The fitted filter (band and privacy bound) of a segment."""
        self._check_fitted()
        return self._segment_state(Segment.of(segment))[1]

    def _check_fitted(self) -> None:
        if not hasattr(self, "real_"):
            raise RuntimeError("PersonaSynthesizer is not fitted: call fit(table) first")

    def _finish(
        self, raw: pd.DataFrame, seg_rows: pd.DataFrame, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Sampler output -> table rows: category links repaired, formula targets rebuilt,
        types, ranges and rounding restored."""
        rows = self.links_.repair(raw, seg_rows, rng)
        for rule in self.rules_:
            if isinstance(rule, Formula):
                factor = rows.pop(rule.target + _FACTOR).to_numpy(dtype=np.float64)
                partial = self.schema_.cast(rows.assign(**{rule.target: 0.0})[self.columns_])
                rows[rule.target] = rule.values(partial) * factor
        return self.schema_.cast(rows[self.columns_])

    def _constraints(self, rows: pd.DataFrame, segment: Segment) -> list[str | None]:
        """Per row, the first rule it breaks (in words), or None."""
        out: list[str | None] = [None] * len(rows)

        def mark(broken: np.ndarray, text: str) -> None:
            for i in np.flatnonzero(broken):
                if out[i] is None:
                    out[i] = text

        mark(~segment.mask(rows, strict=False), f"outside the segment ({segment.name})")
        for rule in self.rules_:
            mark(
                ~rule.holds(rows),
                f"breaks rule {rule}"
                + (f" (tolerance {rule.tolerance})" if isinstance(rule, Formula) else ""),
            )
        for i, text in enumerate(self.links_.unseen_pairs(rows)):
            if text is not None and out[i] is None:
                out[i] = text
        return out

    def generate(self, segment: SegmentSpec, n: int, interactions: bool = True) -> PersonaResult:
        """``n`` new customers of ``segment`` (column values or a rule), each accepted by the
        segment filter, with identity fields and, when a log was fitted, an interaction log.

        Draws candidates in rounds until ``n`` are accepted (or ``max_rounds``: the result's
        ``shortfall`` says how many are missing, with a warning).
        """
        self._check_fitted()
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        seg = Segment.of(segment)
        sampler, flt, mask = self._segment_state(seg)
        seg_rows = self.model_frame_[mask]
        parts: list[pd.DataFrame] = []
        verdicts: list[Verdict] = []
        seeds: list[int] = []
        accepted, drawn, rate = 0, 0, 0.8
        for r in range(self.max_rounds):
            if accepted >= n:
                break
            seed = sample_seed(self.random_state, seg.name, r)
            seeds.append(seed)
            rng = np.random.default_rng(seed)
            want = n - accepted
            m = min(math.ceil(want / max(rate, 0.02) * 1.1) + 8, 50 * n + 100)
            rows = self._finish(sampler.sample(m, rng), seg_rows, rng)
            broken = self._constraints(rows, seg)
            vs: list[Verdict | None] = [Verdict.constraint(b) if b else None for b in broken]
            todo = np.array([b is None for b in broken], dtype=bool)
            if todo.any():
                for i, v in zip(np.flatnonzero(todo), flt.judge(rows[todo]), strict=True):
                    vs[i] = v
            ok = np.fromiter((v.accepted for v in vs), dtype=bool, count=len(vs))
            if ok.sum() > want:  # stop at the n-th accepted candidate
                cut = int(np.flatnonzero(ok)[want - 1]) + 1
                rows, vs, ok = rows.iloc[:cut], vs[:cut], ok[:cut]
            rows = rows.assign(
                draw=np.arange(drawn, drawn + len(rows)),
                round=r,
                reason=[v.reason.value for v in vs],
                detail=[v.detail for v in vs],
                similarity=[v.similarity for v in vs],
            )
            parts.append(rows)
            verdicts.extend(vs)  # type: ignore[arg-type]
            drawn += len(rows)
            accepted += int(ok.sum())
            rate = max(accepted / drawn, 0.02)
        if parts:
            frame = pd.concat(parts, ignore_index=True)
        else:  # n == 0: empty frames with the right columns
            empty = self.schema_.cast(pd.DataFrame({c: [] for c in self.columns_}))
            frame = empty.assign(draw=0, round=0, reason="", detail="", similarity=0.0)
        is_ok = frame["reason"].to_numpy() == Reason.ACCEPTED.value
        personas = frame[is_ok].drop(columns=["reason", "detail"]).reset_index(drop=True)
        rejected = frame[~is_ok].reset_index(drop=True)
        personas = self._add_identity(personas, seg)
        if accepted < n:
            log.warning(
                "segment %r: %d of %d personas made after %d rounds (%d candidates drawn); "
                "see result.summary() for why candidates were rejected",
                seg.name,
                accepted,
                n,
                self.max_rounds,
                drawn,
            )
        result = PersonaResult(
            seg, self.method, n, personas, rejected, verdicts, None, seeds, int(mask.sum())
        )
        if interactions and self.interactions_ is not None and len(personas):
            result.interactions = self.interaction_log(result)
        return result

    def interaction_log(self, result: PersonaResult) -> pd.DataFrame:
        """The interaction log of a result's personas (reproducible from the seed).

        When ``id_column`` links the table to the log, each persona's log comes from its
        ``log_neighbours`` nearest real customers of the segment by profile
        (:meth:`InteractionModel.generate_matched`), or, with ``log_neighbours=0``, from the
        segment's customers alike; without a link, from the whole log."""
        self._check_fitted()
        if self.interactions_ is None:
            raise RuntimeError("no interaction log was given to fit()")
        seg = result.segment
        customers = None
        rng = np.random.default_rng(sample_seed(self.random_state, seg.name, -2))
        model = self.interactions_
        ids = result.personas["persona_id"].tolist()
        if self.id_column is not None:
            mask = self._segment_state(seg)[2]
            customers = self.table_[self.id_column].to_numpy()[mask]
            if self.log_neighbours > 0:
                neighbours = self._log_neighbours(result.personas, mask)
                events = model.generate_matched(ids, neighbours, rng)
                return events.rename(columns={model.customer_column: "persona_id"})
        events = model.generate(ids, rng, customers)
        return events.rename(columns={model.customer_column: "persona_id"})

    def _log_neighbours(self, personas: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
        """Per persona, the ids of its nearest real customers of the segment (by cosine
        similarity of the table encoder's vectors) that occur in the interaction log."""
        ids = self.table_[self.id_column].to_numpy()
        linked = pd.Index(self.interactions_.customers_).get_indexer(ids) >= 0
        pool = np.flatnonzero(mask & linked)
        if len(pool) == 0:
            raise ValueError("none of the segment's customers occurs in the interaction log")
        k = min(self.log_neighbours, len(pool))
        real = self.encoder_.encode(self.real_.iloc[pool])
        out = []
        for start in range(0, len(personas), 4096):  # bounded memory for many personas
            vecs = self.encoder_.encode(personas[self.columns_].iloc[start : start + 4096])
            sims = vecs @ real.T
            out.append(np.argpartition(-sims, k - 1, axis=1)[:, :k])
        return ids[pool][np.concatenate(out)] if out else np.empty((0, k), dtype=object)

    def _add_identity(self, personas: pd.DataFrame, seg: Segment) -> pd.DataFrame:
        key = sample_seed(self.random_state, seg.name, -1)
        ids = [f"persona-{key % 16**6:06x}-{i:06d}" for i in range(len(personas))]
        front = pd.DataFrame({"persona_id": ids})
        if self.identity_fields:
            forbidden = set()
            for c in self.identity_columns:
                forbidden |= set(self.table_[c].dropna().astype(str))
            faker = IdentityFaker(self.identity_fields, self.locale)
            front = pd.concat([front, faker.generate(len(personas), key, forbidden)], axis=1)
        return pd.concat([front, personas.reset_index(drop=True)], axis=1)
