"""Outcome-theme tagging (Talking Points): embeddings, the tagger, its seed set and measurement.

No Flask here. ``storyhub.themes`` stores the taxonomy, suggestions and curators' decisions in the
database and refits the tagger from them.
"""

from .embed import DIMENSIONS, MODEL_NAME, embed
from .evaluate import Evaluation, KindScore, evaluate
from .model import Example, Suggestion, ThemeModel, fit
from .seed import description_examples, seed_examples, seed_rows
from .shipped import fitting_set, shipped_model
from .taxonomy import KINDS, Kind, Subtheme, Taxonomy, shipped_taxonomy

__all__ = [
    "DIMENSIONS",
    "KINDS",
    "MODEL_NAME",
    "Evaluation",
    "Example",
    "Kind",
    "KindScore",
    "Subtheme",
    "Suggestion",
    "Taxonomy",
    "ThemeModel",
    "description_examples",
    "embed",
    "evaluate",
    "fit",
    "fitting_set",
    "seed_examples",
    "seed_rows",
    "shipped_model",
    "shipped_taxonomy",
]
