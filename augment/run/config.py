"""The validated configuration of an `augment run` job (YAML or JSON on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

#: Most variants a job may plan for one row.
MAX_VARIANTS_PER_ROW = 1000
#: Most characters a config file may hold.
MAX_CONFIG_CHARS = 1_000_000


class _Strict(BaseModel):
    # strict: ``true`` is not 1 and ``"4"`` is not 4 (YAML and JSON give real numbers)
    model_config = ConfigDict(extra="forbid", strict=True)


class InputConfig(_Strict):
    """Where the rows come from. ``format`` is inferred from the path when left out."""

    path: Path = Field(strict=False)
    format: Literal["csv", "jsonl", "parquet", "images", "npz"] | None = None
    payload_column: str = Field("text", description="text column (csv/jsonl/parquet)")
    payload_columns: list[str] | Literal["all"] | None = Field(
        None,
        description="records and span texts: the payload is a mapping of these columns "
        "('all': every column), e.g. [text, spans] or [instruction, input, output]",
    )
    label_column: str | None = "label"
    id_column: str | None = Field(None, description="row ids; default: the row number")
    npz_images_key: str = "train_images"
    npz_labels_key: str | None = "train_labels"
    limit: int | None = Field(None, ge=1, description="only the first N rows")

    def resolved_format(self) -> str:
        if self.format:
            return self.format
        if self.path.is_dir():
            return "images"
        suffix = self.path.suffix.lower()
        known = {
            ".csv": "csv",
            ".tsv": "csv",
            ".jsonl": "jsonl",
            ".json": "jsonl",
            ".parquet": "parquet",
            ".npz": "npz",
        }
        if suffix not in known:
            raise ValueError(
                f"input.path {self.path}: cannot tell the format from {suffix!r}; set input.format"
            )
        return known[suffix]


class PipelineConfig(_Strict):
    """A preset by name (with options), or a full pipeline spec as written by ``to_dict``."""

    preset: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PipelineConfig:
        if (self.preset is None) == (self.spec is None):
            raise ValueError("give exactly one of pipeline.preset or pipeline.spec")
        return self


class BalanceConfig(_Strict):
    budget: int = Field(ge=0)
    target_share: dict[str, float] | None = None
    max_per_row: int | None = Field(None, ge=0)


class TargetingConfig(_Strict):
    """How many variants per row: the same for all, a plan file (CSV with ``source_id`` and
    ``n_variants``), or a class-balance plan over the label column."""

    n_variants: int | None = Field(None, ge=0, le=MAX_VARIANTS_PER_ROW)
    plan: Path | None = Field(None, strict=False)
    balance: BalanceConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> TargetingConfig:
        given = [x for x in (self.n_variants, self.plan, self.balance) if x is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of targeting.n_variants, targeting.plan, targeting.balance"
            )
        return self


class PersonaConfig(_Strict):
    """A persona job: fit a ``PersonaSynthesizer`` (its parameters in ``synthesizer``) on the
    input table (and ``interactions``, a purchase log), then generate ``n`` personas of
    ``segment`` (a condition such as ``"age >= 65"`` or a ``{column: value}`` mapping)."""

    segment: str | dict[str, Any]
    n: int = Field(ge=1)
    synthesizer: dict[str, Any] = Field(default_factory=dict)
    interactions: Path | None = Field(None, strict=False)


class FilterConfig(_Strict):
    """The fidelity filter: the band, the encoder, and the checks in order (names, or
    ``{name: ..., **params}`` mappings as :func:`fidelity.checks.make_check` reads them), with
    the parameters of a named check in its own section (``label: {min_probability: 0.3}``).
    A label check is fitted on the input rows and their labels."""

    min_similarity: float = Field(0.7, ge=-1, le=1)
    max_similarity: float = Field(0.98, ge=-1, le=1)
    model: str | None = Field(None, description="text: a sentence-transformers id or path")
    device: str | None = None
    batch_size: int = Field(64, ge=1)
    backend: Literal["auto", "onnx", "openvino", "torch"] = Field(
        "auto",
        description="the encoder's runtime on a CPU: auto (the fastest installed), onnx, "
        "openvino (images), torch (the reference)",
    )
    checks: list[str | dict[str, Any]] | None = Field(
        None, description="checks in order; default: the band alone"
    )
    label: dict[str, Any] | None = None
    fluency: dict[str, Any] | None = None
    siblings: dict[str, Any] | None = None
    top_up: bool = Field(
        False, description="draw more candidates for the labels the filter left short (per shard)"
    )
    max_attempts: int = Field(3, ge=1, description="top-up: draws per planned variant at most")

    @model_validator(mode="after")
    def _ordered(self) -> FilterConfig:
        if self.min_similarity > self.max_similarity:
            raise ValueError(
                f"min_similarity {self.min_similarity} is above max_similarity "
                f"{self.max_similarity}: no variant could pass"
            )
        return self

    @model_validator(mode="after")
    def _known_checks(self) -> FilterConfig:
        for spec in self.check_specs() or []:
            check_spec(spec)
        return self

    def check_specs(self) -> list[str | dict[str, Any]] | None:
        """The ``checks`` argument of the filter: each named check with its section's
        parameters (``None``: the filter's default)."""
        sections = {"label": self.label, "fluency": self.fluency, "siblings": self.siblings}
        unused = [k for k, v in sections.items() if v is not None and not self._names_check(k)]
        if unused:
            raise ValueError(
                f"filter.{unused[0]} is given but {unused[0]!r} is not in filter.checks"
            )
        if self.checks is None:
            return None
        out: list[str | dict[str, Any]] = []
        for spec in self.checks:
            name = spec if isinstance(spec, str) else spec.get("name")
            extra = sections.get(name) if isinstance(name, str) else None
            if extra:
                base = {"name": name} if isinstance(spec, str) else dict(spec)
                out.append({**extra, **base})
            else:
                out.append(spec)
        return out

    def _names_check(self, name: str) -> bool:
        return any(
            (s if isinstance(s, str) else s.get("name")) == name for s in (self.checks or [])
        )


def check_spec(spec: str | dict[str, Any]) -> None:
    """A ``ValueError`` in one line when ``spec`` names no registered check (naming the known
    ones) or its parameters do not fit the check."""
    from fidelity.checks import REGISTRY, make_check

    name = spec if isinstance(spec, str) else spec.get("name")
    if name not in REGISTRY:
        raise ValueError(f"unknown check {name!r}; known: {', '.join(sorted(REGISTRY))}")
    try:
        make_check(spec)
    except TypeError as exc:
        raise ValueError(f"check {name!r}: {exc}") from None


class RunConfig(_Strict):
    """One `augment run` job."""

    input: InputConfig
    modality: str = Field("text", description="a registered modality: text, image, persona")
    pipeline: PipelineConfig | None = None
    persona: PersonaConfig | None = None
    targeting: TargetingConfig = Field(default_factory=lambda: TargetingConfig(n_variants=4))
    filter: FilterConfig = Field(default_factory=FilterConfig)
    seed: int = 0
    output: Path = Field(strict=False)
    shard_rows: int = Field(1000, ge=1, description="rows per resumable unit of work")

    @field_validator("modality")
    @classmethod
    def _known_modality(cls, name: str) -> str:
        from augment.pipeline import modality_named

        modality_named(name)  # a ValueError naming the known ones
        return name

    @model_validator(mode="after")
    def _format_fits_modality(self) -> RunConfig:
        """The input's format is one the modality reads (its record's ``input_formats``)."""
        from augment.pipeline import modality_named

        if not (self.input.format or self.input.path.suffix):
            return self  # a folder: told when the input is read
        try:
            fmt = self.input.resolved_format()
        except ValueError:
            return self  # an unknown suffix: told when the input is read, naming the path
        formats = modality_named(self.modality).input_formats
        if fmt not in formats:
            raise ValueError(
                f"input format {fmt!r}: modality {self.modality!r} reads {', '.join(formats)}"
            )
        return self

    @model_validator(mode="after")
    def _modality_band(self) -> RunConfig:
        """A modality whose encoder has a measured band (images) uses it for the bounds the
        config leaves out (the defaults above are for sentence embeddings)."""
        from augment.pipeline import modality_named

        modality = modality_named(self.modality)
        if modality.run_job is None and self.pipeline is None:
            raise ValueError(f"a {self.modality} job needs a `pipeline` (preset or spec)")
        if modality.run_job is not None and self.persona is None:
            raise ValueError(f"a {self.modality} job needs its `{self.modality}` section")
        band = modality.default_band
        if band is not None:
            b, given = band(), self.filter.model_fields_set
            if "min_similarity" not in given:
                self.filter.min_similarity = b.min_similarity
            if "max_similarity" not in given:
                self.filter.max_similarity = b.max_similarity
        return self

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read and validate a YAML/JSON config; relative paths are taken from its folder, and
        every path is made absolute (the same job reads the same from any working folder).
        Errors name the key and the problem. The YAML is safe-loaded within the bounds of
        :func:`augment.io.safe_yaml.load_yaml` (no alias bombs)."""
        import yaml

        from augment.io.safe_yaml import YAMLLimitError, load_yaml

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            size = path.stat().st_size
            if size > MAX_CONFIG_CHARS:
                raise ConfigError(f"{path}: {size:,} bytes is too large for a config")
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        except YAMLLimitError as exc:
            raise ConfigError(f"{path}: refused: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{path}: refused: nested too deeply") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top level")
        return cls.from_dict(raw, base=path.resolve().parent)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base: Path | None = None) -> RunConfig:
        """Validate ``raw``; relative paths are taken from ``base`` (default: the working
        folder) and made absolute."""
        try:
            cfg = cls.model_validate(raw)
        except ValidationError as exc:
            lines = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"]) or "(top level)"
                got = err.get("input")
                shown = "" if isinstance(got, (dict, list)) else f" (got {got!r:.60})"
                lines.append(f"{key}: {err['msg']}{shown}")
            raise ConfigError("invalid config: " + "; ".join(lines)) from None
        return cfg.resolved(Path.cwd() if base is None else base)

    def resolved(self, base: Path) -> RunConfig:
        """A copy with every path absolute (relative ones taken from ``base``)."""

        def fix(p: Path | None) -> Path | None:
            return None if p is None else (Path(base) / p.expanduser()).resolve()

        data = self.model_copy(deep=True)
        data.input.path = fix(data.input.path)
        data.output = fix(data.output)
        data.targeting.plan = fix(data.targeting.plan)
        if data.persona is not None:
            data.persona.interactions = fix(data.persona.interactions)
        return data

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def job_key(self) -> dict[str, Any]:
        """What must match for a rerun to resume (everything but the output folder)."""
        d = self.to_dict()
        d.pop("output")
        return d


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key."""
