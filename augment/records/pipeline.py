"""RecordPipeline: variants of structured records (instruction data, chat transcripts) under a
field policy: which fields to rewrite, each with its own pipeline and protected spans; which to
keep verbatim; which to judge by.

A field to rewrite holds a text (or a span-annotated text, rewritten by a
:class:`~augment.spans.SpanPipeline`), or chat turns (a list of ``{"role", "content"}``): then
only the turns whose role is in ``roles`` (default: the user's) are rewritten, each on its own
seed, and every other turn is copied as it is, byte for byte. Fields the policy does not name
are copied as they are too; :meth:`RecordPipeline.check` verifies that nothing outside the
rewritten texts changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from augment.candidate import Operation, sample_seed
from augment.io.specs import check_header, load_spec, save_spec
from augment.pipeline import BUILTIN, MODALITIES, Pipeline, check_constraint
from augment.records.filter import FieldFilter

#: Version of the dict :meth:`RecordPipeline.to_dict` writes.
FORMAT_VERSION = 1


class RecordError(ValueError):
    """A record the policy cannot be applied to; ``field`` names the field (and turn)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


def _turns(value: Any) -> Any:
    """Chat turns as a list (Parquet and Arrow hand lists back as arrays)."""
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, str) else value


class RecordPipeline:
    """Makes one variant of a record (a mapping) from a seed, following a field policy.

    Parameters
    ----------
    rewrite:
        Field -> the pipeline that rewrites it (a :class:`~augment.text.TextPipeline`, a
        :class:`~augment.spans.SpanPipeline`, or any pipeline of a registered modality).
    keep:
        Fields every record must have, copied verbatim (the answer of an instruction row).
        Fields named nowhere are copied verbatim too, but may be absent.
    judge:
        Fields the filter from :meth:`fidelity_filter` judges (default: the rewritten ones).
        Each rewritten chat turn is judged against its source turn.
    roles:
        In a chat field, the roles whose turns are rewritten (default ``("user",)``); a chat
        field without such a turn is an error.

    Bad input raises :class:`RecordError` naming the field (the augmentation core records it
    as that row's error): a record that is not a mapping, a field of the policy missing, a chat
    turn without ``role``/``content``, a chat without a turn to rewrite.
    """

    modality = "records"

    def __init__(
        self,
        rewrite: Mapping[str, Pipeline],
        keep: Sequence[str] = (),
        judge: Sequence[str] | None = None,
        roles: Sequence[str] = ("user",),
        name: str | None = None,
    ) -> None:
        self.rewrite = dict(rewrite)
        self.keep = list(keep)
        self.judge = None if judge is None else list(judge)
        self.roles = list(roles)
        self.name = name
        both = set(self.rewrite) & set(self.keep)
        if both:
            raise ValueError(f"fields {sorted(both)} are both rewritten and kept")

    # ------------------------------------------------------------------ checking input
    def _record(self, payload: Any) -> Mapping[str, Any]:
        if not isinstance(payload, Mapping):
            raise RecordError("(record)", f"is {type(payload).__name__}, not a mapping")
        for f in [*self.keep, *self.rewrite]:
            if f not in payload:
                raise RecordError(f, f"missing from the record (fields: {sorted(payload)})")
        return payload

    def _chat_targets(self, field: str, value: Any) -> list[int] | None:
        """Indices of the turns to rewrite when ``value`` is a chat, else ``None``."""
        turns = _turns(value)
        if not isinstance(turns, list) or not turns or not isinstance(turns[0], Mapping):
            return None
        for i, t in enumerate(turns):
            if not isinstance(t, Mapping) or "role" not in t or "content" not in t:
                raise RecordError(f"{field}[{i}]", "a chat turn needs 'role' and 'content'")
        targets = [i for i, t in enumerate(turns) if t["role"] in self.roles]
        if not targets:
            roles = sorted({str(t["role"]) for t in turns})
            raise RecordError(
                field, f"has no {'/'.join(self.roles)} turn to rewrite (roles: {roles})"
            )
        return targets

    # ------------------------------------------------------------------ running
    def apply(self, payload: Any, seed: int) -> tuple[dict[str, Any], list[Operation]]:
        """The variant and its operations, each naming its ``field`` (``messages[2]`` for a
        chat turn)."""
        record = self._record(payload)
        out = dict(record)
        ops: list[Operation] = []
        for field, pipe in self.rewrite.items():
            value = record[field]
            targets = self._chat_targets(field, value)
            if targets is None:
                out[field] = self._run(pipe, value, field, seed, ops)
                continue
            turns = list(_turns(value))
            for i in targets:
                name = f"{field}[{i}]"
                turns[i] = {
                    **turns[i],
                    "content": self._run(pipe, turns[i]["content"], name, seed, ops),
                }
            out[field] = turns
        return out, ops

    @staticmethod
    def _run(pipe: Pipeline, value: Any, field: str, seed: int, ops: list[Operation]) -> Any:
        try:
            new, applied = pipe.apply(value, sample_seed(seed, field, 0))
        except (TypeError, ValueError) as exc:
            raise RecordError(field, str(exc)) from exc
        ops += [Operation(op.name, {"field": field, **op.params}) for op in applied]
        return new

    def check(self, source: Any, candidate: Any) -> str | None:
        """What ``candidate`` broke, in words, or ``None``: every field but the rewritten texts
        equal to the source's (kept chat turns byte-identical), and each rewritten text passing
        its pipeline's own check (protected and labelled spans)."""
        if not isinstance(source, Mapping) or not isinstance(candidate, Mapping):
            return None  # not records: the filter names it
        for field, value in source.items():
            if field not in candidate:
                return f"field {field!r} is missing from the candidate"
            other = candidate[field]
            pipe = self.rewrite.get(field)
            if pipe is None:
                if not _same(value, other):
                    return f"field {field!r} was to be kept but changed"
                continue
            targets = self._chat_targets(field, value)
            if targets is None:
                broken = check_constraint(pipe, value, other)
                if broken:
                    return f"field {field!r}: {broken}"
                continue
            turns, others = _turns(value), _turns(other)
            if not isinstance(others, list) or len(others) != len(turns):
                return f"field {field!r} does not hold the source's {len(turns)} turns"
            for i, (t, o) in enumerate(zip(turns, others)):
                if i not in targets:
                    if not _same(t, o):
                        return f"turn {field}[{i}] ({t['role']}) was to be kept but changed"
                    continue
                if {k: v for k, v in t.items() if k != "content"} != {
                    k: v for k, v in o.items() if k != "content"
                }:
                    return f"turn {field}[{i}] changed more than its content"
                broken = check_constraint(pipe, t["content"], o["content"])
                if broken:
                    return f"turn {field}[{i}]: {broken}"
        return None

    def fidelity_filter(self, text_filter: Any = None) -> FieldFilter:
        """The filter this policy judges by: ``text_filter`` (default: the packaged
        all-MiniLM-L6-v2 filter) on each judged field that changed, each rewritten chat turn
        against its source turn."""
        return FieldFilter(
            text_filter, self.judge if self.judge is not None else list(self.rewrite)
        )

    def augment(self, payload: Any, n: int = 1, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` variants of one record (seeds derived from ``seed``): a quick look."""
        return [self.apply(payload, sample_seed(seed, repr(payload), v))[0] for v in range(n)]

    def __call__(self, payload: Any, seed: int) -> dict[str, Any]:
        return self.apply(payload, seed)[0]

    # ------------------------------------------------------------------ presets, serialization
    @classmethod
    def from_preset(cls, name: str, **options: Any) -> RecordPipeline:
        """``"instruction"``: rewrite ``instruction`` and ``input`` (option ``fields``), keep
        ``output``; ``"chat"``: rewrite the user turns of ``messages`` (option ``field``,
        ``roles``), keep the rest. Option ``text`` names the text preset each rewrite uses
        (default ``"eda"``); ``text_options`` are its options."""
        from augment.text.pipeline import TextPipeline

        text = TextPipeline.from_preset(
            options.pop("text", "eda"), **options.pop("text_options", {})
        )
        if name == "instruction":
            fields = options.pop("fields", ("instruction", "input"))
            keep = options.pop("keep", ("output",))
            pipe = cls({f: text for f in fields}, keep, name=name, **options)
        elif name == "chat":
            field = options.pop("field", "messages")
            pipe = cls({field: text}, name=name, **options)
        else:
            raise ValueError(f"unknown preset {name!r}: choose one of instruction, chat")
        return pipe

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "RecordPipeline",
            "version": FORMAT_VERSION,
            "name": self.name,
            "rewrite": {f: p.to_dict() for f, p in self.rewrite.items()},  # type: ignore[attr-defined]
            "keep": self.keep,
            "judge": self.judge,
            "roles": self.roles,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RecordPipeline:
        check_header(d, "RecordPipeline", FORMAT_VERSION)
        return cls(
            {f: pipeline_from_dict(p) for f, p in d["rewrite"].items()},
            d.get("keep", ()),
            d.get("judge"),
            d.get("roles", ("user",)),
            d.get("name"),
        )

    def save(self, path: str | Path) -> Path:
        return save_spec(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> RecordPipeline:
        return cls.from_dict(load_spec(path))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordPipeline) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"RecordPipeline(rewrite={list(self.rewrite)}, keep={self.keep}, name={self.name!r})"


def pipeline_from_dict(d: dict[str, Any]) -> Any:
    """A field's pipeline from its spec, by the ``type`` of its header, among the registered
    modalities (the built-in ones are imported first)."""
    for name in BUILTIN:
        importlib.import_module(f"augment.{name}")
    kind = d.get("type") if isinstance(d, dict) else None
    for m in MODALITIES.values():
        if m.pipeline.__name__ == kind:
            return m.pipeline.from_dict(d)
    known = sorted(m.pipeline.__name__ for m in MODALITIES.values())
    raise ValueError(f"unknown pipeline type {kind!r} (known: {', '.join(known)})")


def _same(a: Any, b: Any) -> bool:
    """Equal values, arrays (as Parquet gives lists back) compared as lists."""
    a, b = _turns(a), _turns(b)
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False
