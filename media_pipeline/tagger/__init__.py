"""Outcome-theme tagging (Talking Points): embeddings, the tagger, its seed set and measurement.

No Flask here. ``storyhub.themes`` stores the taxonomy, suggestions and curators' decisions in the
database and refits the tagger from them.
"""

from .crossval import CrossValidation, expected_calibration_error, reliability
from .embed import DIMENSIONS, MODEL_NAME, embed
from .evaluate import Evaluation, KindScore, evaluate
from .model import Adjust, Example, Suggestion, ThemeModel, fit
from .seed import description_examples, real_rows, seed_examples, seed_rows
from .shipped import cross_validate_shipped, fitting_set, shipped_model
from .taxonomy import KINDS, Kind, Subtheme, Taxonomy, shipped_taxonomy

__all__ = [
    "DIMENSIONS",
    "KINDS",
    "MODEL_NAME",
    "Adjust",
    "CrossValidation",
    "Evaluation",
    "Example",
    "Kind",
    "KindScore",
    "Subtheme",
    "Suggestion",
    "Taxonomy",
    "ThemeModel",
    "cross_validate_shipped",
    "description_examples",
    "embed",
    "evaluate",
    "expected_calibration_error",
    "fit",
    "fitting_set",
    "real_rows",
    "reliability",
    "seed_examples",
    "seed_rows",
    "shipped_model",
    "shipped_taxonomy",
]
