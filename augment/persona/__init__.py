"""Synthetic personas: new customers for under-represented segments, with interaction logs,
filtered so that each stays close to its segment and far from every real customer.

Personas are the library's second contract: not one variant per source, but a synthesizer
fitted on a population (``PersonaSynthesizer.fit(table)``) that then generates rows of a
segment (``generate(segment, n)``), judged against that segment by
:class:`fidelity.segment_filter.SegmentFilter`. The :class:`PersonaResult` reads like an
:class:`augment.AugmentResult` (``candidates``, ``accepted``, ``to_frame``, ``summary``).
``PERSONA`` is the modality record: ``augment run`` runs a persona job (``modality: persona``
with a ``persona`` section) through :mod:`augment.run.persona`.
"""

from __future__ import annotations

from typing import Any

from augment.persona.copula import GaussianCopula
from augment.persona.identity import IdentityFaker
from augment.persona.interactions import InteractionModel, read_cdnow
from augment.persona.rules import Condition, Formula, parse_rule
from augment.persona.segment import Segment
from augment.persona.smote import SmoteSampler
from augment.persona.synthesizer import PersonaResult, PersonaSynthesizer
from augment.pipeline import Modality, register


def _run_job(cfg: Any, restart: bool = False) -> dict[str, Any]:
    from augment.run.persona import run_persona_job

    return run_persona_job(cfg, restart)


PERSONA = register(Modality(name="persona", pipeline=PersonaSynthesizer, run_job=_run_job))

__all__ = [
    "PERSONA",
    "Condition",
    "Formula",
    "GaussianCopula",
    "IdentityFaker",
    "InteractionModel",
    "PersonaResult",
    "PersonaSynthesizer",
    "Segment",
    "SmoteSampler",
    "parse_rule",
    "read_cdnow",
]
