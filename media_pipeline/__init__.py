"""Media handling for storyhub: probe and validate uploads, thumbnails, and synthetic stories.

No Flask here: everything is plain functions that raise MediaError with a friendly message.
"""

import sys
import warnings

if sys.argv[:1] == ["-m"]:
    # `python -m media_pipeline.probe` (how probe() runs its child) imports this package, and
    # so probe.py, before running probe.py as __main__; runpy then warns. It is harmless.
    warnings.filterwarnings(
        "ignore", message=r"'media_pipeline\.probe' found in sys\.modules", category=RuntimeWarning
    )

from .audio import extract_audio
from .captions import Cue, make_cues, make_webvtt, make_webvtt_window
from .errors import MESSAGES, ErrorCode, MediaError
from .ffmpeg import ffmpeg_exe, run_ffmpeg
from .passages import Passage, make_passages
from .probe import ACCEPTED_CONTAINERS, MediaInfo, probe, validate
from .synth import draw_slide, render_story, speak
from .thumbnail import ProgressCallback, make_thumbnail
from .transcribe import Segment, Transcript, Word, transcribe
from .whisper_models import model_path, prepare_models

__all__ = [
    "ACCEPTED_CONTAINERS",
    "MESSAGES",
    "Cue",
    "ErrorCode",
    "MediaError",
    "MediaInfo",
    "Passage",
    "ProgressCallback",
    "Segment",
    "Transcript",
    "Word",
    "draw_slide",
    "extract_audio",
    "ffmpeg_exe",
    "make_cues",
    "make_passages",
    "make_thumbnail",
    "make_webvtt",
    "make_webvtt_window",
    "model_path",
    "prepare_models",
    "probe",
    "render_story",
    "run_ffmpeg",
    "speak",
    "transcribe",
    "validate",
]
