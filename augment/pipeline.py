"""What a modality provides: the ``Pipeline`` protocol the augmentation core runs, and the
``Modality`` record each modality folder declares once (``augment/<modality>/__init__.py``).

Adding a modality is a new folder under ``augment/`` with a pipeline class and one
:class:`Modality` passed to :func:`register`, plus, if it needs one, an encoder in ``fidelity/``;
nothing else in the library asks which modality it runs. The core finds a pipeline's record
with :func:`modality_of` (by the pipeline's type, else by its ``modality`` name), a config finds
it with :func:`modality_named`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from augment.candidate import Operation

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from fidelity.band import Band
    from fidelity.filter import FidelityFilter


@runtime_checkable
class Pipeline(Protocol):
    """Makes one variant of one payload, reproducibly from ``seed``.

    ``apply`` returns the new payload and the operations applied with the parameters actually
    drawn (a list, or a sequence that works them out on first read, as images do). ``check``
    (source, candidate) returns a constraint (protected span, label, validity rule) that the
    candidate broke, in words, or ``None``; the core turns it into a ``constraint`` verdict
    before the filter runs. A pipeline without a ``check`` has nothing to check (see
    :func:`check_constraint`).
    """

    modality: str

    def apply(self, payload: Any, seed: int) -> tuple[Any, Sequence[Operation]]: ...


def check_constraint(pipeline: Any, source: Any, candidate: Any) -> str | None:
    """What ``candidate`` broke by ``pipeline``'s own rules, or ``None`` (also when the pipeline
    defines no ``check``: the protocol's default is that there is nothing to check)."""
    check = getattr(pipeline, "check", None)
    return check(source, candidate) if check is not None else None


def apply_or_error(pipeline: Any, payload: Any, seed: int) -> tuple[Any, list[Any]] | Exception:
    """``pipeline.apply(payload, seed)``, or the exception it raised (batch callers record it as
    that row's error and go on)."""
    try:
        return pipeline.apply(payload, seed)
    except Exception as exc:  # handed back, never swallowed: the caller records it
        return exc


def _write_as_is(payload: Any, output: Path, candidate_id: str) -> Any:
    return payload


def _read_as_is(value: Any, output: Path) -> Any:
    return value


def _examples_table(rows: pd.DataFrame) -> list[str]:
    from augment.io.markdown import md_table

    show = rows[["source_id", "payload", "similarity", "detail"]].copy()
    show["similarity"] = show.similarity.round(3)
    return [md_table(show)]


@dataclass(frozen=True)
class Modality:
    """Everything the library needs to know about one kind of payload.

    Parameters
    ----------
    name:
        The config's ``modality`` value and the folder name (``text``, ``image``).
    pipeline:
        The pipeline class (``from_preset``, ``from_dict``); instances are looked up by it.
    default_filter:
        Builds the filter used when none is given (encoder and band measured for it).
    config_filter:
        Builds the filter of an ``augment run`` job from its ``filter`` section and rows per
        shard (the encoder's cache size).
    default_band:
        The band a job uses for the bounds its config leaves out (``None``: the config's
        defaults, measured for sentence embeddings).
    write_payload, read_payload:
        How a candidate's payload is written under a job's output folder (a text as is, an image
        as a PNG whose relative path goes in the table) and read back.
    report_examples:
        Markdown lines that show a few rows of a job's table in its report.
    run_job:
        For a modality whose unit is not one variant per row (personas: fit on a population,
        then generate), how ``augment run`` runs a job of it; ``None``: the sharded job.
    input_formats:
        The ``input.format`` values an ``augment run`` job of this modality reads (tables of
        text by default; images read a folder or an .npz).
    """

    name: str
    pipeline: type
    default_filter: Callable[[], FidelityFilter] | None = None
    config_filter: Callable[[Any, int], FidelityFilter] | None = None
    default_band: Callable[[], Band] | None = None
    write_payload: Callable[[Any, Path, str], Any] = _write_as_is
    read_payload: Callable[[Any, Path], Any] = _read_as_is
    report_examples: Callable[[pd.DataFrame], list[str]] = field(default=_examples_table)
    run_job: Callable[..., dict[str, Any]] | None = None
    input_formats: tuple[str, ...] = ("csv", "jsonl", "parquet")

    def build_pipeline(self, preset: str | None, options: dict[str, Any], spec: Any) -> Any:
        """A preset with options, or a full spec as written by the pipeline's ``to_dict``."""
        if preset is not None:
            return self.pipeline.from_preset(preset, **options)
        return self.pipeline.from_dict(spec)


#: Modality name -> record, filled by each modality package on import.
MODALITIES: dict[str, Modality] = {}
#: The modality packages the library ships (imported on demand by :func:`modality_named`).
BUILTIN = ("text", "image", "persona", "spans", "records")


def register(modality: Modality) -> Modality:
    """Add ``modality`` to the registry (a modality package does this once, on import)."""
    MODALITIES[modality.name] = modality
    return modality


def modality_named(name: str) -> Modality:
    """The record of modality ``name``, importing ``augment.<name>`` when it is not loaded yet."""
    if name not in MODALITIES:
        try:
            importlib.import_module(f"augment.{name}")
        except ImportError:
            pass
    if name not in MODALITIES:
        known = sorted(set(MODALITIES) | set(BUILTIN))
        raise ValueError(f"unknown modality {name!r}; known: {', '.join(known)}")
    return MODALITIES[name]


def modality_of(pipeline: Any) -> Modality:
    """The record of ``pipeline``: by its type first, else by its ``modality`` attribute
    (``"text"`` when it has none)."""
    for m in MODALITIES.values():
        if isinstance(pipeline, m.pipeline):
            return m
    return modality_named(getattr(pipeline, "modality", "text"))
