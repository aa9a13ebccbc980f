"""TextPipeline: a seeded, serializable composition of text operations that never alters a
protected span."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from augment.candidate import Operation, sample_seed
from augment.io.specs import check_header as _check_header
from augment.io.specs import load_spec, save_spec
from augment.pipeline import apply_or_error
from augment.text.base import TextOperation
from augment.text.compose import OneOf, Sequential, Sometimes, Step, step_from_dict
from augment.text.presets import PRESETS
from augment.text.protected import PLACEHOLDER_RE, ProtectedSpans, Span

#: Version of the dict :meth:`TextPipeline.to_dict` writes (the ``version`` of its header).
FORMAT_VERSION = 1


class TextPipeline:
    """Makes one paraphrase candidate of a text from a seed; the ``Pipeline`` the Augmenter runs.

    ``steps`` is an operation, a composite (:class:`Sequential`, :class:`OneOf`,
    :class:`Sometimes`) or a list (run in sequence). Each operation gets its own seed derived
    from the sample seed and its place in the tree, so the same seed gives the same text in any
    process; each applied operation is recorded as an :class:`~augment.Operation` whose params
    say what it changed (``replaced``, ``deleted``, ``moved``, ``inserted``, ...).

    Protected spans (see :class:`ProtectedSpans`; ``protected=None`` protects numbers, amounts,
    percentages, dates, negations and modals) are never altered: word and character operations
    see them as placeholders they skip; an operation that still loses one (or one that works on
    raw text, like translation, and breaks one) is recorded with ``broke: <why>`` and, with
    ``on_broken="revert"`` (default), undone for that sample (``reverted: True``). With
    ``on_broken="keep"`` the broken text goes on, and the Augmenter, through :meth:`check`
    (the same rule), rejects the candidate with a ``constraint`` verdict: use it to see how
    often each operation breaks a span (``accept_rate_by_operation``).

    Input: a ``str``; anything else raises ``TypeError`` (the Augmenter records it as that row's
    error). An empty or blank text is returned as is, each operation recorded with
    ``skipped: "empty text"`` (the filter then calls the candidate ``invalid``).
    """

    modality = "text"

    def __init__(
        self,
        steps: Step | Sequence[Step],
        protected: ProtectedSpans | None = None,
        name: str | None = None,
        on_broken: str = "revert",
    ) -> None:
        self.steps = steps
        self.protected = protected
        self.name = name
        self.on_broken = on_broken

    # ------------------------------------------------------------------ running
    def _root(self) -> Step:
        s = self.steps
        return Sequential(s) if isinstance(s, (list, tuple)) else s  # type: ignore[arg-type]

    def _spans(self) -> ProtectedSpans:
        p = getattr(self, "_protected", None)
        if p is None:
            p = self._protected = self.protected if self.protected is not None else ProtectedSpans()
        return p

    def _check_on_broken(self) -> None:
        if self.on_broken not in ("revert", "keep"):
            raise ValueError(f"on_broken must be 'revert' or 'keep', got {self.on_broken!r}")

    def apply(self, payload: str, seed: int) -> tuple[str, list[Operation]]:
        """One candidate of ``payload`` from ``seed``, and the operations applied."""
        self._check_on_broken()
        if not isinstance(payload, str):
            raise TypeError(f"text pipeline got {type(payload).__name__}, not str")
        ops: list[Operation] = []
        text = self._run(self._root(), payload, int(seed), "0", ops)
        return text, ops

    def check(self, source: str, candidate: str) -> str | None:
        """The protected span ``candidate`` broke, in words, or ``None``."""
        return self._spans().check(source, candidate)

    def augment(self, text: str, n: int = 1, seed: int = 0) -> list[str]:
        """``n`` candidates of one text (seeds derived from ``seed``): a quick look."""
        return [self.apply(text, sample_seed(seed, text, v))[0] for v in range(n)]

    def _run(self, step: Step, text: str, seed: int, path: str, ops: list[Operation]) -> str:
        if isinstance(step, Sequential):
            for k, s in enumerate(step.steps):
                text = self._run(s, text, seed, f"{path}.{k}", ops)
            return text
        if isinstance(step, OneOf):
            if not step.steps:
                return text
            rng = random.Random(sample_seed(seed, f"one_of@{path}", 0))
            k = rng.choices(range(len(step.steps)), weights=step.weights)[0]
            return self._run(step.steps[k], text, seed, f"{path}.{k}", ops)
        if isinstance(step, Sometimes):
            rng = random.Random(sample_seed(seed, f"sometimes@{path}", 0))
            if rng.random() < step.p:
                return self._run(step.step, text, seed, f"{path}.0", ops)
            return text
        if not isinstance(step, TextOperation):
            raise TypeError(f"not a text operation or composite: {step!r}")
        out, record = self._run_operation(step, text, sample_seed(seed, f"{step.name}@{path}", 0))
        ops.append(record)
        return out

    def _run_operation(self, op: TextOperation, text: str, seed: int) -> tuple[str, Operation]:
        if not text.strip():
            return text, Operation(op.name, {"skipped": "empty text"})
        spans = self._spans()
        if op.masks_protected:
            masked = spans.mask(text)
            out, params = op.transform(masked.text, seed)
            if masked.spans:
                params = _unmask_params(params, masked.spans)
                restored = spans.unmask(out, masked.spans)
                if restored is None:
                    broken: str | None = "a protected span was lost or reordered"
                    out = _unmask_params(out, masked.spans)
                else:
                    out = restored
                    # a new protected word (synonym "one", typo "not"); an operation that only
                    # moves or drops words cannot make one (Augmenter.check still looks)
                    broken = spans.compare(masked.spans, out) if op.may_add_words else None
            else:
                broken = spans.compare((), out) if op.may_add_words else None
        else:
            out, params = op.transform_keeping(text, seed, [s.text for s in spans.find(text)])
            broken = spans.check(text, out)
        return self._settle(op, text, out, params, broken)

    def _settle(
        self, op: TextOperation, text: str, out: str, params: dict[str, Any], broken: str | None
    ) -> tuple[str, Operation]:
        """The operation's output and record, reverted to ``text`` when it broke a protected span
        and ``on_broken`` is ``"revert"``."""
        if broken:
            params = {**params, "broke": broken}
            if self.on_broken == "revert":
                return text, Operation(op.name, {**params, "reverted": True})
        return out, Operation(op.name, params)

    # ------------------------------------------------------------------ batches
    def _batched_operation(self) -> tuple[TextOperation, str] | None:
        """The one operation (and its path) of a pipeline that is a single batching operation
        on raw text (a language model), else None."""
        root, path = self.steps, "0"
        if isinstance(root, (list, tuple)):
            if len(root) != 1:
                return None
            root, path = root[0], "0.0"
        if isinstance(root, Sequential) and len(root.steps) == 1:
            root, path = root.steps[0], f"{path}.0"
        ok = isinstance(root, TextOperation) and hasattr(root, "transform_batch")
        return (root, path) if ok and not root.masks_protected else None

    def apply_batch(
        self, payloads: Sequence[str], seeds: Sequence[int]
    ) -> list[tuple[str, list[Operation]] | Exception]:
        """:meth:`apply` for many texts: the same candidate per (text, seed) as one call each,
        or the exception that text met. A pipeline that is one batching operation (a language
        model) generates the texts together (``transform_batch``); any other runs them one by
        one."""
        self._check_on_broken()
        batched = self._batched_operation()
        if batched is None:
            return [apply_or_error(self, t, s) for t, s in zip(payloads, seeds)]
        op, path = batched
        out: list[tuple[str, list[Operation]] | Exception] = [None] * len(payloads)  # type: ignore[list-item]
        todo = []
        for i, text in enumerate(payloads):
            if isinstance(text, str) and text.strip():
                todo.append(i)
            else:  # not text, or empty: apply's own refusal or skip, without the model
                out[i] = apply_or_error(self, text, seeds[i])
        spans = self._spans()
        keeps = [[s.text for s in spans.find(payloads[i])] for i in todo]
        op_seeds = [sample_seed(int(seeds[i]), f"{op.name}@{path}", 0) for i in todo]
        try:
            results = op.transform_batch([payloads[i] for i in todo], op_seeds, keeps)
        except Exception as exc:  # the batch as a whole failed (a model that is not there):
            results = [exc] * len(todo)  # every row gets the cause, as one call each would
        for i, res in zip(todo, results):
            if isinstance(res, Exception):
                out[i] = res
                continue
            text, (cand, params) = payloads[i], res
            cand, record = self._settle(op, text, cand, params, spans.check(text, cand))
            out[i] = (cand, [record])
        return out

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(cls, name: str, **options: Any) -> TextPipeline:
        """A ready pipeline: ``"legal"``, ``"support"``, ``"clinical"`` or ``"eda"``; keyword
        options go to the preset's builder (e.g. ``glossary=[...]``). See
        :mod:`augment.text.presets`."""
        try:
            builder = PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}"
            ) from None
        steps, protected = builder(**options)
        return cls(steps, protected, name=name)

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        """A plain dict, headed by ``type`` and ``version``, that :meth:`from_dict` turns back
        into a pipeline with the same behaviour."""
        return {
            "type": "TextPipeline",
            "version": FORMAT_VERSION,
            "name": self.name,
            "steps": self._root().to_dict(),
            "protected": None if self.protected is None else self.protected.to_dict(),
            "on_broken": self.on_broken,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextPipeline:
        _check_header(d, "TextPipeline", FORMAT_VERSION)
        prot = d.get("protected")
        return cls(
            step_from_dict(d["steps"]),
            None if prot is None else ProtectedSpans.from_dict(prot),
            d.get("name"),
            d.get("on_broken", "revert"),
        )

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The pipeline as YAML; also written to ``path`` when given."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> TextPipeline:
        """Load from a YAML file path or a YAML string."""
        import yaml

        text = str(source)
        if isinstance(source, Path) or ("\n" not in text and Path(text).is_file()):
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(yaml.safe_load(text))

    def save(self, path: str | Path) -> Path:
        """Write the pipeline as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
        return save_spec(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> TextPipeline:
        """Read a pipeline written by :meth:`save`."""
        return cls.from_dict(load_spec(path))

    def __call__(self, payload: str, seed: int) -> str:
        """The variant alone, without provenance: the same text as :meth:`apply` with ``seed``."""
        return self.apply(payload, seed)[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextPipeline) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, steps={self._root().to_dict()})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _unmask_params(value: Any, spans: Sequence[Span]) -> Any:
    """Drawn params name protected spans by their text, not by placeholder."""
    if isinstance(value, str):
        if "QQPROT" not in value:
            return value
        return PLACEHOLDER_RE.sub(
            lambda m: spans[int(m.group(1))].text if int(m.group(1)) < len(spans) else m.group(0),
            value,
        )
    if isinstance(value, list):
        return [_unmask_params(v, spans) for v in value]
    if isinstance(value, dict):
        return {k: _unmask_params(v, spans) for k, v in value.items()}
    return value
