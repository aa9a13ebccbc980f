"""Augmentation strategies for the text benchmark, read from a YAML file and resolved by name.

A strategy is one arm: a **pipeline** (what makes the candidates) and a **filter** (which of them
are kept), with how many candidates per row and how they are spread (``targeting``)::

    strategies:
      - name: eda
        pipeline: {preset: eda, options: {alpha: 0.05}}
      - name: eda_band
        pipeline: {preset: eda, options: {alpha: 0.05}}
        filter: band                               # default band 0.70-0.98
      - name: eda_band_cal
        pipeline: {preset: eda, options: {alpha: 0.05}}
        filter: {band: calibrate}                  # band from the training sample
      - name: eda_band_weak
        pipeline: {preset: eda, options: {alpha: 0.05}}
        filter: band
        targeting: weakness                        # same budget, by per-class error of `none`
      - name: chain
        pipeline: {operations: [{type: RandomSwap, aug_p: 0.1}]}
      - name: lm_para_label
        pipeline: {lm: {backend: local, mode: paraphrase}}
        filter: [band, {label: {min_probability: 0.5}}]

A pipeline is exactly one of ``preset`` (any :meth:`TextPipeline.from_preset` name, with
``options``), ``operations`` (a chain of text operations as ``TextPipeline.to_dict`` writes
them) or ``lm`` (a language-model backend and mode). A filter is ``none``, one check or a list
of checks (``band``, ``label``, ``fluency``, ``siblings``), each a name or ``{name: {params}}``;
a threshold may be ``calibrate`` (band: derived from the training sample by
:func:`fidelity.calibrate`). Pipelines and filters are resolved through :data:`PIPELINES` and
:data:`CHECKS` (add to them to plug in a new kind); a strategy whose pipeline or check is not
installed fails before anything trains, with an error naming the strategy.

Every arm list also has ``none`` and ``duplicated``; every filtered strategy gets its size-matched
control (``<name>_size_matched``: as many of the same pipeline's unfiltered candidates, drawn at
random), and a ``targeting: weakness`` strategy is compared with its uniform twin when the file
has one (same pipeline, filter and budget).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Arms every benchmark has, whatever the strategies.
BASE_ARMS = ("none", "duplicated")
#: The checks a filter can name; ``band`` is the only one ``FidelityFilter`` has without
#: ``fidelity.checks``.
CHECK_NAMES = ("band", "label", "fluency", "siblings")
CALIBRATE = "calibrate"


class StrategyError(ValueError):
    """A strategies file that cannot be used, naming the strategy and the cause."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LMSpec(_Model):
    backend: str
    mode: str = "paraphrase"
    options: dict[str, Any] = Field(default_factory=dict)


class PipelineSpec(_Model):
    """Exactly one of ``preset`` / ``operations`` / ``lm``."""

    preset: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    operations: list[dict[str, Any]] | None = None
    lm: LMSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PipelineSpec:
        given = [k for k in ("preset", "operations", "lm") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a pipeline is exactly one of preset / operations / lm (got {given or 'none'})"
            )
        if self.options and self.preset is None:
            raise ValueError("options go with a preset (an lm takes lm.options)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("preset", "operations", "lm") if getattr(self, k) is not None)

    def key(self) -> str:
        """Equal for pipelines that make the same candidates (they are made once)."""
        return self.model_dump_json()


class CheckSpec(_Model):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in CHECK_NAMES:
            raise ValueError(f"unknown check {v!r}; choose from {', '.join(CHECK_NAMES)} or none")
        return v


def _checks(value: Any) -> list[dict[str, Any]]:
    """``none`` / ``band`` / ``{band: calibrate}`` / ``{label: {...}}`` / a list of those."""
    if value is None or value == "none":
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict) and "name" in item:
            out.append({"name": item["name"], "params": item.get("params", {})})
        elif isinstance(item, dict) and len(item) == 1:
            ((name, params),) = item.items()
            if params == CALIBRATE:
                params = {CALIBRATE: True}
            if not isinstance(params, dict):
                raise ValueError(f"check {name!r}: give its parameters as a mapping or 'calibrate'")
            out.append({"name": name, "params": params})
        else:
            raise ValueError(f"a filter entry is a check name or {{name: params}}, got {item!r}")
    return out


class StrategySpec(_Model):
    """One strategy of the file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    pipeline: PipelineSpec
    filter: list[CheckSpec] = Field(default_factory=list)
    n_variants: int | None = Field(default=None, ge=1)
    targeting: Literal["uniform", "weakness", "balance"] = "uniform"
    control: bool = True  #: add the size-matched control (filtered strategies only)

    @field_validator("filter", mode="before")
    @classmethod
    def _filter(cls, v: Any) -> Any:
        return _checks(v)

    @property
    def filtered(self) -> bool:
        return bool(self.filter)

    @property
    def control_name(self) -> str | None:
        return f"{self.name}_size_matched" if self.filtered and self.control else None

    def filter_key(self) -> str:
        return "|".join(c.model_dump_json() for c in self.filter)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline": self.pipeline.model_dump(exclude_defaults=True),
            "filter": [c.model_dump(exclude_defaults=True) for c in self.filter] or "none",
            "n_variants": self.n_variants,
            "targeting": self.targeting,
            "control": self.control_name,
        }


class StrategiesFile(_Model):
    """A strategies file: ``strategies:`` and an optional ``type``/``version`` header."""

    type: Literal["Strategies"] = "Strategies"
    version: int = 1
    strategies: list[StrategySpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> StrategiesFile:
        seen: set[str] = set(BASE_ARMS)
        for s in self.strategies:
            for arm in (s.name, s.control_name):
                if arm is None:
                    continue
                if arm in seen:
                    raise ValueError(f"strategy {s.name!r}: arm name {arm!r} is used twice")
                seen.add(arm)
        return self


def load_strategies(source: str | Path | dict[str, Any]) -> list[StrategySpec]:
    """Strategies from a YAML file (safe-loaded) or a dict, validated; errors name the entry."""
    import yaml

    if isinstance(source, dict):
        raw, where = source, "strategies"
    else:
        path = Path(source)
        if not path.is_file():
            raise StrategyError(f"strategies file {path} does not exist")
        where = str(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise StrategyError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise StrategyError(f"{where}: expected a mapping with 'strategies:'")
    try:
        return list(StrategiesFile.model_validate(raw).strategies)
    except ValidationError as exc:
        raise StrategyError(f"{where}: {_explain(exc, raw)}") from None


def _explain(exc: ValidationError, raw: dict[str, Any]) -> str:
    parts = []
    entries = raw.get("strategies") if isinstance(raw.get("strategies"), list) else []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) >= 2 and loc[0] == "strategies" and isinstance(loc[1], int):
            i = loc[1]
            entry = entries[i] if i < len(entries) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            label = f"strategy {name!r}" if name else f"strategy #{i + 1}"
            field = ".".join(str(x) for x in loc[2:]) or "entry"
            parts.append(f"{label}, {field}: {err['msg']}")
        else:
            parts.append(f"{'.'.join(map(str, loc)) or 'file'}: {err['msg']}")
    return "; ".join(parts)


# ---------------------------------------------------------------------- registries
def _preset(spec: PipelineSpec) -> Any:
    from augment.text import TextPipeline

    return TextPipeline.from_preset(spec.preset, **spec.options)


def _operations(spec: PipelineSpec) -> Any:
    from augment.text import TextPipeline
    from augment.text.compose import step_from_dict

    if not spec.operations:
        raise ValueError("an operation chain needs at least one operation")
    return TextPipeline([step_from_dict(d) for d in spec.operations], name="operations")


def _lm_operations() -> dict[str, type]:
    from augment.text.backends import CausalLMGeneration, ChatCompletionGeneration

    return {"local": CausalLMGeneration, "chat_api": ChatCompletionGeneration}


#: LM backend names a strategy may give: ``local`` (a causal LM through transformers, the
#: packaged SmolLM2-135M-Instruct unless ``options.model`` names another) and ``chat_api`` (an
#: OpenAI-compatible server: ``options.base_url``, ``options.model``).
LM_BACKENDS = ("local", "chat_api")


def _lm(spec: PipelineSpec) -> Any:
    """An LM pipeline as docs/text_generators.md advises: a paraphrase keeps its source's
    protected spans in any order (a lost span is a ``constraint`` verdict, not a reverted
    sample); a label-conditioned text is new, so no span of the source binds it."""
    from augment.text import ProtectedSpans, TextPipeline

    assert spec.lm is not None
    ops = _lm_operations()
    if spec.lm.backend not in ops:
        raise ValueError(f"unknown lm backend {spec.lm.backend!r} (known: {', '.join(ops)})")
    op = ops[spec.lm.backend](mode=spec.lm.mode, **spec.lm.options)
    spans = (
        ProtectedSpans.disabled()
        if spec.lm.mode == "label_conditioned"
        else ProtectedSpans(ordered=False)
    )
    return TextPipeline([op], spans, name=f"lm-{spec.lm.backend}-{spec.lm.mode}", on_broken="keep")


def for_sample(pipeline: Any, texts: Sequence[str], labels: Sequence[Any]) -> Any:
    """``pipeline`` with the training sample as the few-shot examples of its label-conditioned
    LM operations (LAMBADA-style generation draws its shots from the rows being augmented, never
    from outside the sample); other pipelines are returned as they are."""
    steps = pipeline.steps if isinstance(pipeline.steps, (list, tuple)) else [pipeline.steps]
    for op in steps:
        if getattr(op, "mode", None) == "label_conditioned":
            examples: dict[str, list[str]] = {}
            for text, label in zip(texts, labels):
                examples.setdefault(str(label), []).append(text)
            op.examples = examples
    return pipeline


#: Pipeline kinds: kind -> function(spec) -> pipeline.
PIPELINES: dict[str, Callable[[PipelineSpec], Any]] = {
    "preset": _preset,
    "operations": _operations,
    "lm": _lm,
}


def filter_supports_checks() -> bool:
    """Whether this installation's ``FidelityFilter`` runs a list of checks (label, fluency)."""
    from fidelity.filter import FidelityFilter

    return "checks" in inspect.signature(FidelityFilter).parameters


def _band_available() -> None:
    return None


def _needs_checks(name: str) -> Callable[[], None]:
    def available() -> None:
        if not filter_supports_checks():
            raise ImportError(
                f"the {name!r} check needs FidelityFilter(checks=[...]) from fidelity.checks, "
                "which this installation lacks"
            )

    return available


#: Check names -> a function that raises ImportError when the check cannot run here.
CHECKS: dict[str, Callable[[], None]] = {
    "band": _band_available,
    "label": _needs_checks("label"),
    "fluency": _needs_checks("fluency"),
    "siblings": _needs_checks("siblings"),
}


def resolve_pipeline(strategy: StrategySpec) -> Any:
    """The strategy's pipeline; a :class:`StrategyError` naming the strategy if it cannot be
    made here."""
    kind = strategy.pipeline.kind
    try:
        return PIPELINES[kind](strategy.pipeline)
    except (ImportError, ValueError, TypeError, KeyError) as exc:
        raise StrategyError(f"strategy {strategy.name!r}: pipeline ({kind}): {exc}") from None


def check_available(strategies: Sequence[StrategySpec]) -> dict[str, Any]:
    """Resolve every strategy's pipeline and check that its filter's checks run here; returns
    ``{pipeline key: pipeline}``. Raises :class:`StrategyError` naming the first strategy that
    cannot run."""
    pipelines: dict[str, Any] = {}
    for s in strategies:
        key = s.pipeline.key()
        if key not in pipelines:
            pipelines[key] = resolve_pipeline(s)
        for c in s.filter:
            if c.name not in CHECKS:
                raise StrategyError(f"strategy {s.name!r}: no check named {c.name!r} is registered")
            try:
                CHECKS[c.name]()
            except ImportError as exc:
                raise StrategyError(f"strategy {s.name!r}: filter: {exc}") from None
    return pipelines


def arm_names(strategies: Sequence[StrategySpec]) -> list[str]:
    """Every arm in report order: ``none``, ``duplicated``, then each strategy and its control."""
    out = list(BASE_ARMS)
    for s in strategies:
        out.append(s.name)
        if s.control_name:
            out.append(s.control_name)
    return out


def comparisons(strategies: Sequence[StrategySpec]) -> list[tuple[str, str]]:
    """The planned paired comparisons: every arm against ``none``; every filtered strategy
    against its size-matched control; a ``weakness``/``balance`` strategy against its uniform
    twin (same pipeline, filter and budget)."""
    arms = arm_names(strategies)
    pairs = [(a, "none") for a in arms[1:]]
    for s in strategies:
        if s.control_name:
            pairs.append((s.name, s.control_name))
    for s in strategies:
        if s.targeting == "uniform":
            continue
        for t in strategies:
            if (
                t.targeting == "uniform"
                and t.pipeline.key() == s.pipeline.key()
                and t.filter_key() == s.filter_key()
                and t.n_variants == s.n_variants
            ):
                pairs.append((s.name, t.name))
                break
    return pairs


def round_one(
    alpha: float = 0.05, checks: Sequence[str | dict[str, Any]] | None = None
) -> list[StrategySpec]:
    """The first round's arms as strategies: ``unfiltered`` (EDA), ``filtered`` (EDA + band)
    and ``targeted`` (EDA + band, budget by class balance); ``filtered``'s control keeps its
    first-round name ``size_matched``. ``checks`` replaces the band of the two filtered arms
    (names, or ``{"name": ..., **params}`` as a job config writes them)."""
    eda = {"preset": "eda", "options": {"alpha": alpha}}
    flt: list[Any] = [
        c
        if isinstance(c, str) or "params" in c
        else {"name": c["name"], "params": {k: v for k, v in c.items() if k != "name"}}
        for c in (checks or ["band"])
    ]
    return [
        StrategySpec(name="unfiltered", pipeline=eda),
        _RoundOneFiltered(name="filtered", pipeline=eda, filter=flt),
        StrategySpec(name="targeted", pipeline=eda, filter=flt, targeting="balance", control=False),
    ]


class _RoundOneFiltered(StrategySpec):
    @property
    def control_name(self) -> str | None:
        return "size_matched"
