"""Outcome-theme tagging (Talking Points): embeddings, the tagger, its seed set and measurement.

No Flask here. ``storyhub.themes`` stores the taxonomy, suggestions and curators' decisions in the
database and retrains the tagger from them.
"""

from .embed import DIMENSIONS, MODEL_NAME, embed
from .evaluate import Evaluation, KindScore, evaluate
from .model import Example, Suggestion, ThemeModel, train
from .seed import description_examples, seed_examples, seed_rows
from .shipped import shipped_model, training_set
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
    "seed_examples",
    "seed_rows",
    "shipped_model",
    "shipped_taxonomy",
    "train",
    "training_set",
]
