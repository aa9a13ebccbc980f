"""Synthetic personas: new customers for under-represented segments, with interaction logs,
filtered so that each stays close to its segment and far from every real customer."""

from augment.persona.copula import GaussianCopula
from augment.persona.expression import Expression, ExpressionError
from augment.persona.identity import IdentityFaker
from augment.persona.interactions import InteractionModel, read_cdnow
from augment.persona.rules import Condition, Formula, parse_rule
from augment.persona.segment import Segment
from augment.persona.smote import SmoteSampler
from augment.persona.synthesizer import PersonaResult, PersonaSynthesizer

__all__ = [
    "Condition",
    "Expression",
    "ExpressionError",
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
